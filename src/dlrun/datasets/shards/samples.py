"""The samples of a split of shards: a map-style Dataset read through the manifest's index, and
the training order that reads a few shards at a time."""

import io
import json
import logging

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler
from torchvision import tv_tensors

from dlrun.datasets.file_formats import AUDIO_SUFFIXES
from dlrun.datasets.image_files import image_tensor
from dlrun.datasets.shards.manifest import members as members_of
from dlrun.datasets.shards.reading import ShardReader


class ShardSamples(Dataset):
    """The samples of a split, by its index (dlrun.datasets.shards.manifest: each sample's shard and
    members' byte ranges), decoded as the data set they came from gives them: (input, target), the input an
    RGB PIL image from an image file (as ImageFolder reads it), your Dataset's own PIL image,
    array or tensor, a waveform at `sample_rate` from an audio file, or a tensor; the target a
    class index, a tensor, a tv_tensors.Mask (segmentation) or {"boxes", "labels"} with the image
    a tv_tensors.Image (detection). `shard_of`: each sample's shard, numbered (ShardWindows reads by it)."""

    def __init__(self, url: str, shards: list, index, suffixes: list, cache: int, sample_rate: int | None = None):
        self.shards, self.index, self.suffixes = shards, index, suffixes
        self.reader, self.sample_rate = ShardReader(url, cache), sample_rate
        self.shard_of = index["shard"]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        shard = self.shards[int(self.shard_of[i])]
        members = {
            suffix: self.reader.read(shard, offset, size)
            for suffix, offset, size in members_of(self.index, i, self.suffixes)
        }
        where = f"sample {i} of shard {shard}"
        x = y = None
        for suffix, data in members.items():
            if suffix == "cls":
                y = int(data)
            elif suffix == "json":
                y = json.loads(data)
            elif suffix.startswith("mask."):
                y = tv_tensors.Mask(torch.from_numpy(np.asarray(mask_of(suffix, data, where), np.int64)))
            elif suffix == "y.npy":
                y = torch.from_numpy(load_npy(data))
            else:
                x = self.input(suffix, data, where)
        if isinstance(y, dict):  # boxes: on the image, as BoxedImages gives them
            x = tv_tensors.Image(x if torch.is_tensor(x) else image_tensor(x))  # as BoxedImages decodes a file
            boxes = torch.tensor(y["boxes"], dtype=torch.float32).reshape(-1, 4)
            y = {
                "boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=tuple(x.shape[-2:])),
                "labels": torch.tensor(y["labels"], dtype=torch.int64),
            }
        return x, y

    def input(self, suffix: str, data: bytes, where: str):
        if suffix in ("x.npy", "tensor.npy", "wave.npy"):
            return torch.from_numpy(load_npy(data))
        if suffix == "array.npy":
            return load_npy(data)
        if suffix == "pil.png":  # your Dataset's image, its mode kept
            image = Image.open(io.BytesIO(data))
            image.load()
            return image
        if "." + suffix in AUDIO_SUFFIXES:
            from dlrun.datasets.audio.decoding import read_clip

            return torch.from_numpy(read_clip(io.BytesIO(data), self.sample_rate))
        from dlrun.datasets.image_files import read_image

        return read_image(io.BytesIO(data), where)  # an image file's bytes


def load_npy(data: bytes) -> np.ndarray:
    """A member in NumPy's format (records.npy wrote it), read without pickle."""
    return np.load(io.BytesIO(data), allow_pickle=False)


def mask_of(suffix: str, data: bytes, where: str) -> np.ndarray:
    if suffix == "mask.npy":
        return load_npy(data)
    from dlrun.datasets.segmentation import read_mask

    return read_mask(io.BytesIO(data), where)


class ShardClips(Dataset):
    """Audio shards' (waveform, target) samples as Clips gives them: a window's features."""

    def __init__(self, base: ShardSamples, make, train: bool):
        self.base, self.make, self.train = base, make, train

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        wave, target = self.base[i]
        return self.make(wave, self.train), target


class ShardSplit(Dataset):
    """A training split read from shards (`split`, any Dataset over `shard_of`'s samples) and the
    order it is read in: ShardWindows of `window` shards at a time."""

    def __init__(self, split: Dataset, shard_of: list[int], window: int = 4):
        self.split, self.shard_of, self.window = split, shard_of, window

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i):
        return self.split[i]

    def training_order(self, shuffle: bool, seed: int, shard):
        order = ShardWindows(self.shard_of, self.window, seed, shuffle, shard)
        if order.padded and order.rank == 0:
            logging.getLogger("dlrun").info(
                "shards: %d training samples over %d processes: %d repeated each epoch to even the shares "
                "(as DistributedSampler does)",
                len(self),
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
        self.shard_of = torch.from_numpy(np.asarray(shard_of, dtype=np.int64))  # a copy: indexes are read-only maps
        self.window, self.seed, self.shuffle = window, seed, shuffle
        self.rank, self.world = shard if shard is not None else (0, 1)
        self.epoch = 0
        samples = len(self.shard_of)
        self.per_rank = -(-samples // self.world)
        self.padded = self.per_rank * self.world - samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> list[int]:
        samples = len(self.shard_of)
        if not self.shuffle:
            order = torch.arange(samples)
        else:  # one sort, not a pass over the samples per window: a million samples in a tenth of a second
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            shards = int(self.shard_of.max()) + 1 if samples else 0
            window_of = torch.empty(shards, dtype=torch.int64)
            window_of[torch.randperm(shards, generator=generator)] = torch.arange(shards) // self.window
            draw = torch.randperm(samples, generator=generator)  # a random place within its window
            order = torch.argsort(window_of[self.shard_of] * samples + draw)
        order = order.tolist()
        return order + order[: self.padded]

    def __iter__(self):
        return iter(self.order()[self.rank :: self.world])

    def __len__(self) -> int:
        return self.per_rank
