"""The `loader:` config (DataLoader options) resolved for a run: `auto` values made concrete.
Every value is checked with the config (dlrun.checks.data); what only the data shows (is
it held as tensors? how many processes read it?) is checked here."""

import os

from dlrun.errors import DlrunError

IN_MEMORY_ONE_PROCESS = (
    "loader.in_memory=true is for one training process; several (DDP) read their shares "
    "through a DistributedSampler: use loader.in_memory=auto or false."
)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def loader_options(cfg, *, in_memory: bool, cuda: bool, tensors: bool = False, sharded: bool = False) -> dict:
    """Resolve `auto` values: workers for file-backed data only, pinned memory on CUDA, and
    batches sliced from tensors (`in_memory`) where the data is held as tensors (`tensors`)
    and one process reads it (not `sharded`)."""
    workers = cfg.num_workers
    if workers == "auto":
        workers = 0 if in_memory else min(8, max(1, cpu_count() - 1))
    options = {
        "in_memory": False,
        "num_workers": workers,
        "pin_memory": cuda if cfg.pin_memory == "auto" else cfg.pin_memory,
        "persistent_workers": workers > 0 if cfg.persistent_workers == "auto" else cfg.persistent_workers,
        "prefetch_factor": cfg.prefetch_factor,
        "shuffle": cfg.shuffle,
        "drop_last": cfg.drop_last,
    }
    # a run's saved config from before loader.in_memory existed trained through a DataLoader
    if sliced(cfg.get("in_memory", False), cfg.num_workers, tensors, sharded):
        options.update(in_memory=True, num_workers=0, pin_memory=False, persistent_workers=False, prefetch_factor=None)
    return options


def sliced(value, workers, tensors: bool, sharded: bool) -> bool:
    """loader.in_memory: auto (where the data is tensors, one process reads it and no workers
    were asked for), true (an error where the data cannot be sliced), false (torch's DataLoader)."""
    if value is False:
        return False
    wants_workers = workers != "auto" and workers != 0
    if value is True and sharded:  # trainer.devices=auto made several processes (the config check sees the rest)
        raise DlrunError(IN_MEMORY_ONE_PROCESS)
    if value is True and not tensors:
        raise DlrunError(
            "loader.in_memory=true needs data held as tensors (the bundled sets, CSV files, "
            "small image folders whose random steps are crop and flip); this data is read sample "
            "by sample (files, your own Dataset or transforms): use loader.in_memory=auto or false."
        )
    return tensors and not sharded and not wants_workers
