"""Texts as token ids, and the batches a text model takes: padded to the batch's longest text,
with an attention mask."""

import torch
from torch.utils.data import Dataset


class TokenIds(Dataset):
    """(token ids (L,) int64, target) per sample, the ids of variable length."""

    def __init__(self, ids: list[list[int]], targets: torch.Tensor):
        self.ids = [torch.as_tensor(i, dtype=torch.int64) for i in ids]
        self.targets = targets

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        return self.ids[i], self.targets[i]


class TextBatch:
    """What a text model takes: `ids` (B, L) int64, padded with the padding token, and `mask`
    (B, L) bool, True on the text's own tokens. Moves to a device as a tensor does."""

    def __init__(self, ids: torch.Tensor, mask: torch.Tensor):
        self.ids, self.mask = ids, mask

    def __len__(self) -> int:
        return self.ids.shape[0]

    @property
    def shape(self) -> tuple:
        return tuple(self.ids.shape)

    def to(self, device, non_blocking: bool = False) -> "TextBatch":
        return TextBatch(
            self.ids.to(device, non_blocking=non_blocking), self.mask.to(device, non_blocking=non_blocking)
        )

    def pin_memory(self) -> "TextBatch":
        return TextBatch(self.ids.pin_memory(), self.mask.pin_memory())


def pad(ids: list[torch.Tensor], pad_id: int) -> TextBatch:
    """Token id sequences padded to the longest with `pad_id`, and their mask."""
    longest = max(1, max(len(i) for i in ids))
    batch = torch.full((len(ids), longest), pad_id, dtype=torch.int64)
    mask = torch.zeros((len(ids), longest), dtype=torch.bool)
    for row, sequence in enumerate(ids):
        batch[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = True
    return TextBatch(batch, mask)


class PadBatch:
    """The loaders' collate function (picklable, for worker processes): (TextBatch, targets)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, samples: list) -> tuple[TextBatch, torch.Tensor]:
        ids, targets = zip(*samples)
        return pad(list(ids), self.pad_id), torch.stack(list(targets))
