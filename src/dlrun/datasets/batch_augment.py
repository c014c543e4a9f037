"""Random crop (with padding) and flip for a whole batch of images held in memory, on the
device the batch is on, followed by the normalisation; what the per-sample training pipeline
does to each image, without a Python call per sample.

The random numbers come from the loader's own seeded generator (on the CPU, in a fixed
order), so an epoch's augmentations are a function of the seed, and a resumed run that
replays its epoch from the saved generator state draws them again exactly.
"""

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset


class BatchAugment:
    def __init__(self, crop: list[int] | None, padding: int, flip: bool, stats: tuple | None):
        self.crop, self.padding, self.flip = crop, padding or 0, flip
        self.mean = torch.tensor(stats[0]).view(1, -1, 1, 1) if stats else None
        self.std = torch.tensor(stats[1]).view(1, -1, 1, 1) if stats else None

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n = len(x)
        if self.crop is not None:
            if self.padding:
                x = F.pad(x, (self.padding,) * 4)  # zeros, as v2.RandomCrop(padding=...) fills
            height, width = self.crop
            top = torch.randint(0, x.shape[-2] - height + 1, (n,), generator=generator).to(x.device)
            left = torch.randint(0, x.shape[-1] - width + 1, (n,), generator=generator).to(x.device)
            rows = (top[:, None] + torch.arange(height, device=x.device))[:, :, None]  # (n, h, 1)
            cols = (left[:, None] + torch.arange(width, device=x.device))[:, None, :]  # (n, 1, w)
            x = x[torch.arange(n, device=x.device)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)
        if self.flip:
            flipped = (torch.rand(n, generator=generator) < 0.5).to(x.device)
            x = torch.where(flipped[:, None, None, None], x.flip(-1), x)
        if self.mean is not None:
            x = (x - self.mean.to(x.device)) / self.std.to(x.device)
        return x.contiguous()


class AugmentedTensors(TensorDataset):
    """Training images before their random steps, with the BatchAugment that completes them."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, augment: BatchAugment):
        super().__init__(images, targets)
        self.augment = augment


def batchable(transforms) -> bool:
    """The training pipeline's random steps are ones BatchAugment does (not the user's own)."""
    return not (transforms.get("train_extra") or transforms.get("auto_augment") or transforms.get("random_erasing"))


def crop_size(value) -> list[int] | None:
    if value is None:
        return None
    sizes = [int(value)] if isinstance(value, int) else [int(v) for v in value]
    return sizes * 2 if len(sizes) == 1 else sizes
