"""The samples of a split of shards: a map-style Dataset read through the manifest's index, and
the training order that reads a few shards at a time."""

import io
import logging

import torch
from torch.utils.data import Dataset, Sampler

from dlrun.datasets.shards.reading import ShardReader
from dlrun.datasets.transforms import Transformed
from dlrun.errors import DlrunError


class ShardRows(Dataset):
    """The samples of a split, by the manifest's index rows ([shard name, ...] each); `shard_of`:
    each sample's shard, numbered (ShardWindows reads by it)."""

    def __init__(self, url: str, rows: list, cache: int):
        self.rows, self.reader = rows, ShardReader(url, cache)
        number = {name: i for i, name in enumerate(sorted({row[0] for row in rows}))}
        self.shard_of = [number[row[0]] for row in rows]

    def __len__(self) -> int:
        return len(self.rows)


class ShardImages(ShardRows):
    """(RGB PIL image, class index) per sample, as torchvision's ImageFolder gives them."""

    def __init__(self, url: str, rows: list, cache: int):
        super().__init__(url, rows, cache)
        self.targets = [int(row[4]) for row in rows]

    def __getitem__(self, i: int):
        from PIL import Image

        shard, offset, size, ext, target = self.rows[i]
        data = self.reader.read(shard, offset, size)
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.convert("RGB"), int(target)
        except (OSError, ValueError, SyntaxError) as err:
            raise DlrunError(f"sample {i} of shard {shard} is not an image that can be read ({err}).") from err


class ShardTensors(ShardRows):
    """(input, target) tensors per sample, as the converted data set held them (x.npy, y.npy)."""

    def __getitem__(self, i: int):
        import numpy as np

        shard, x_at, x_size, y_at, y_size = self.rows[i]
        x, y = (
            torch.from_numpy(np.load(io.BytesIO(self.reader.read(shard, at, size)), allow_pickle=False))
            for at, size in ((x_at, x_size), (y_at, y_size))
        )
        return x, y


class ShardSplit(Transformed):
    """A training split of shards: Transformed, and the order it is read in (ShardWindows of
    `window` shards at a time)."""

    def __init__(self, base: ShardRows, transform=None, window: int = 4):
        super().__init__(base, None, transform)
        self.window = window

    def training_order(self, shuffle: bool, seed: int, shard):
        order = ShardWindows(self.base.shard_of, self.window, seed, shuffle, shard)
        if order.padded and order.rank == 0:
            logging.getLogger("dlrun").info(
                "shards: %d training samples over %d processes: %d repeated each epoch to even the shares "
                "(as DistributedSampler does)",
                len(self.base),
                order.world,
                order.padded,
            )
        return order


class ShardWindows(Sampler):
    """Each epoch, from seed + epoch: the shards in a random order, taken `window` at a time, the
    samples of a window in a random order; every sample once. With `shard` (rank, world), the
    order cut as DistributedSampler cuts its own: padded to a multiple of world with its first
    samples (`padded` of them: said when the loaders are made), rank r taking r, r + world ...
    A pure function of the seed and the epoch, so a resumed run replays it (the loop skips the
    batches it had trained)."""

    def __init__(self, shard_of: list[int], window: int, seed: int, shuffle: bool = True, shard=None):
        self.shard_of, self.window, self.seed, self.shuffle = torch.as_tensor(shard_of), window, seed, shuffle
        self.rank, self.world = shard if shard is not None else (0, 1)
        self.epoch = 0
        samples = len(self.shard_of)
        self.per_rank = -(-samples // self.world)
        self.padded = self.per_rank * self.world - samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> list[int]:
        shards = int(self.shard_of.max()) + 1 if len(self.shard_of) else 0
        if not self.shuffle:
            order = torch.arange(len(self.shard_of))
        else:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            sequence = torch.randperm(shards, generator=generator)
            parts = []
            for start in range(0, shards, self.window):
                members = torch.nonzero(torch.isin(self.shard_of, sequence[start : start + self.window])).flatten()
                parts.append(members[torch.randperm(len(members), generator=generator)])
            order = torch.cat(parts) if parts else torch.arange(0)
        order = order.tolist()
        return order + order[: self.padded]

    def __iter__(self):
        return iter(self.order()[self.rank :: self.world])

    def __len__(self) -> int:
        return self.per_rank
