"""DataLoaders from the `loader:` config, with a data order that is a pure function of the seed."""

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler



def seed_worker(worker_id: int) -> None:
    """Give each worker's NumPy and `random` the seed torch already derived for it
    (torch's own per-worker seed comes from the loader's generator)."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def make_loader(dataset: Dataset, *, batch_size: int, train: bool, seed: int, options: dict,
                shard: tuple[int, int] | None = None) -> DataLoader:
    """One loader. Each has its own generator, so creating an iterator never draws from
    the global torch RNG (model init and dropout stay independent of evaluation).
    `shard` (rank, world size): this rank's share, in an order that is a function of the
    seed and the epoch (DistributedSampler; the loop calls set_epoch)."""
    generator = torch.Generator().manual_seed(seed if train else seed + 1)
    shuffle = train and options["shuffle"]
    sampler = None
    if shard is not None:
        rank, world = shard
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)
    samples = len(sampler) if sampler is not None else len(dataset)
    # A final training batch of one sample breaks BatchNorm ("Expected more than 1 value
    # per channel"); dropping only that batch loses at most one sample per epoch.
    drop_last = train and (options["drop_last"] or samples % batch_size == 1)
    workers = options["num_workers"]
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler, drop_last=drop_last,
        num_workers=workers, pin_memory=options["pin_memory"], generator=generator,
        worker_init_fn=seed_worker if workers > 0 else None,
        persistent_workers=options["persistent_workers"], prefetch_factor=options["prefetch_factor"],
    )
