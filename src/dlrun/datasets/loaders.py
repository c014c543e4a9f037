"""Loaders from the `loader:` config, with a data order that is a pure function of the seed:
torch's DataLoader, or for data held as tensors, batches sliced from them (TensorBatches)."""

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, TensorDataset


def seed_worker(worker_id: int) -> None:
    """Give each worker's NumPy and `random` the seed torch already derived for it
    (torch's own per-worker seed comes from the loader's generator)."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def drops_last(samples: int, batch_size: int, train: bool, drop_last: bool) -> bool:
    """A final training batch of one sample breaks BatchNorm ("Expected more than 1 value per
    channel"); dropping only that batch loses at most one sample per epoch."""
    return train and (drop_last or samples % batch_size == 1)


class EvaluationShard(Sampler):
    """One rank's share of an evaluation split: samples rank, rank + world, ... in order, and
    nothing more. torch's DistributedSampler pads every share to the same length with
    repeated samples (fine for training), which would count up to world-1 samples twice in
    validation and test metrics; here the shares differ by at most one sample, and the
    metrics' sums meet at the end, so N processes score exactly what one process scores.
    (torch has no sampler that does not pad.)"""

    def __init__(self, samples: int, rank: int, world: int):
        self.indices = range(rank, samples, world)

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self):
        return iter(self.indices)


class LengthBuckets(Sampler):
    """Training batches of samples of similar length (texts: less padding to compute): each
    epoch the samples in a seeded random order, cut into pools of POOL batches, each pool sorted
    by length and cut into batches, and the batches in a seeded random order. One process draws
    from the loader's generator (its state is checkpointed: resume replays the epoch); with
    `shard` (rank, world) the order is drawn from seed + epoch on every rank, as DistributedSampler
    draws it, padded to a multiple of world, and each rank buckets its own share."""

    POOL = 50

    def __init__(self, lengths, batch_size: int, generator, drop_last: bool, shard=None, seed: int = 0):
        self.lengths = torch.as_tensor(lengths)
        self.batch_size, self.generator, self.drop_last, self.shard, self.seed = (
            batch_size, generator, drop_last, shard, seed,
        )  # fmt: skip
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def share(self) -> int:
        n = len(self.lengths)
        return n if self.shard is None else -(-n // self.shard[1])

    def __len__(self) -> int:
        n = self.share()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n, size = len(self.lengths), self.batch_size
        if self.shard is None:
            draw = self.generator
            order = torch.randperm(n, generator=draw)
        else:
            rank, world = self.shard
            draw = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=draw)
            order = torch.cat([order, order[: self.share() * world - n]])[rank::world]
        batches = []
        for start in range(0, len(order), size * self.POOL):
            pool = order[start : start + size * self.POOL]
            pool = pool[torch.argsort(self.lengths[pool], stable=True)]
            batches += [pool[i : i + size] for i in range(0, len(pool), size)]
        if self.drop_last and len(batches[-1]) < size:
            batches.pop()
        for i in torch.randperm(len(batches), generator=draw).tolist():
            yield batches[i].tolist()


class TensorBatches:
    """What a DataLoader over a TensorDataset yields, without per-sample `__getitem__` and
    collate: each epoch one permutation from the loader's own seeded generator (drawn when
    iteration starts, as a DataLoader's sampler draws), and each batch indexed from tensors
    that stay on the training device."""

    sampler = None  # the loop asks it for set_epoch (DistributedSampler); there is none here

    def __init__(
        self,
        dataset: TensorDataset,
        *,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        generator: torch.Generator,
        device: torch.device | None,
    ):
        self.dataset = dataset
        self.tensors = tuple(t.to(device) if device is not None else t for t in dataset.tensors)
        self.batch_size, self.shuffle, self.drop_last, self.generator = batch_size, shuffle, drop_last, generator
        self.augment = getattr(dataset, "augment", None)  # random crop and flip of a batch (BatchAugment)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n, size = len(self.dataset), self.batch_size
        order = torch.randperm(n, generator=self.generator).to(self.tensors[0].device) if self.shuffle else None
        for start in range(0, len(self) * size, size):
            batch = (
                tuple(t[start : start + size] for t in self.tensors)
                if order is None
                else tuple(t[order[start : start + size]] for t in self.tensors)
            )
            if self.augment is not None:
                batch = (self.augment(batch[0], self.generator), *batch[1:])
            yield batch


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    train: bool,
    seed: int,
    options: dict,
    shard: tuple[int, int] | None = None,
    device: torch.device | None = None,
    collate=None,
    lengths=None,
):
    """One loader. Each has its own generator, so creating an iterator never draws from
    the global torch RNG (model init and dropout stay independent of evaluation).
    `shard` (rank, world size): this rank's share; for training in an order that is a
    function of the seed and the epoch (DistributedSampler; the loop calls set_epoch), for
    evaluation every sample exactly once over all ranks (EvaluationShard). With
    `options["in_memory"]` a TensorDataset is batched by TensorBatches, its tensors on `device`.
    `lengths` (training, dataset.bucket): each sample's length, for batches of similar length."""
    generator = torch.Generator().manual_seed(seed if train else seed + 1)
    shuffle = train and options["shuffle"]
    if options.get("in_memory"):
        return TensorBatches(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            generator=generator,
            device=device,
            drop_last=drops_last(len(dataset), batch_size, train, options["drop_last"]),
        )
    sampler = None
    if train and hasattr(dataset, "training_order"):  # shards: a few at a time (dlrun.datasets.shards)
        sampler = dataset.training_order(options["shuffle"], seed, shard)
        shuffle = False
    elif shard is not None:
        rank, world = shard
        sampler = (
            DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)
            if train
            else EvaluationShard(len(dataset), rank, world)
        )
    samples = len(sampler) if sampler is not None else len(dataset)
    drop_last = drops_last(samples, batch_size, train, options["drop_last"])
    workers = options["num_workers"]
    if lengths is not None and shuffle:  # dataset.bucket: batches of similar length
        batching = {"batch_sampler": LengthBuckets(lengths, batch_size, generator, drop_last, shard, seed)}
    else:
        batching = {
            "batch_size": batch_size,
            "shuffle": shuffle and sampler is None,
            "sampler": sampler,
            "drop_last": drop_last,
        }
    return DataLoader(
        dataset,
        **batching,
        num_workers=workers,
        pin_memory=options["pin_memory"],
        generator=generator,
        worker_init_fn=seed_worker if workers > 0 else None,
        persistent_workers=options["persistent_workers"],
        prefetch_factor=options["prefetch_factor"],
        collate_fn=collate,  # None: torch's default (stacked tensors); detection: lists
    )
