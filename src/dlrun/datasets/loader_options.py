"""Resolve and check the `loader:` config (DataLoader options). No torch here, so the
config check runs before torch is imported."""

import os

from dlrun.errors import DlrunError


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _auto_bool(key: str, value, auto: bool) -> bool:
    if value == "auto":
        return auto
    if not isinstance(value, bool):
        raise DlrunError(f"loader.{key}={value!r} is not valid: use auto, true or false.")
    return value


def loader_options(cfg, *, in_memory: bool, cuda: bool, tensors: bool = False, sharded: bool = False) -> dict:
    """Resolve `auto` values: workers for file-backed data only, pinned memory on CUDA, and
    batches sliced from tensors (`in_memory`) where the data is held as tensors (`tensors`)
    and one process reads it (not `sharded`)."""
    # a run's saved config from before loader.in_memory existed trained through a DataLoader
    sliced = _in_memory(cfg.get("in_memory", False), cfg.num_workers, tensors, sharded)
    options = _dataloader_options(cfg, in_memory=in_memory, cuda=cuda)   # checked also when not used
    if sliced:
        options.update(in_memory=True, num_workers=0, pin_memory=False, persistent_workers=False, prefetch_factor=None)
    return options


def _dataloader_options(cfg, *, in_memory: bool, cuda: bool) -> dict:
    workers = cfg.num_workers
    if workers == "auto":
        workers = 0 if in_memory else min(8, max(1, cpu_count() - 1))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise DlrunError(f"loader.num_workers={workers!r} is not valid: use auto or a whole number >= 0.")
    prefetch = cfg.prefetch_factor
    if prefetch is not None:
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 1:
            raise DlrunError(f"loader.prefetch_factor={prefetch!r} is not valid: use null or a whole number >= 1.")
        if workers == 0:
            raise DlrunError("loader.prefetch_factor needs worker processes: set loader.num_workers >= 1 too.")
    persistent = _auto_bool("persistent_workers", cfg.persistent_workers, workers > 0)
    if persistent and workers == 0:
        raise DlrunError("loader.persistent_workers=true needs worker processes: set loader.num_workers >= 1 too.")
    return {
        "in_memory": False,
        "num_workers": workers,
        "pin_memory": _auto_bool("pin_memory", cfg.pin_memory, cuda),
        "persistent_workers": persistent,
        "prefetch_factor": prefetch,
        "shuffle": _bool(cfg, "shuffle"),
        "drop_last": _bool(cfg, "drop_last"),
    }


def _bool(cfg, key: str) -> bool:
    if not isinstance(cfg[key], bool):
        raise DlrunError(f"loader.{key}={cfg[key]!r} is not valid: use true or false.")
    return cfg[key]


def _in_memory(value, workers, tensors: bool, sharded: bool) -> bool:
    """loader.in_memory: auto (where the data is tensors, one process reads it and no workers
    were asked for), true (an error where it cannot apply), false (torch's DataLoader)."""
    if value not in ("auto", True, False):
        raise DlrunError(f"loader.in_memory={value!r} is not valid: use auto, true or false.")
    if value is False:
        return False
    wants_workers = workers != "auto" and workers != 0
    if value is True:
        if wants_workers:
            raise DlrunError(f"loader.in_memory=true batches tensors in the training process: it takes no "
                             f"DataLoader workers (loader.num_workers={workers}); set loader.num_workers=0 or auto.")
        if sharded:
            raise DlrunError("loader.in_memory=true is for one training process; several (DDP) read their "
                             "shares through a DistributedSampler: use loader.in_memory=auto or false.")
        if not tensors:
            raise DlrunError("loader.in_memory=true needs data held as tensors (the bundled sets, CSV files, "
                             "small image folders whose random steps are crop and flip); this data is read sample "
                             "by sample (files, your own Dataset or transforms): use loader.in_memory=auto or false.")
    return tensors and not sharded and not wants_workers
