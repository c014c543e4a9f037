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


def loader_options(cfg, *, in_memory: bool, cuda: bool) -> dict:
    """Resolve `auto` values: workers for file-backed data only, pinned memory on CUDA."""
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
    for key in ("shuffle", "drop_last"):
        if not isinstance(cfg[key], bool):
            raise DlrunError(f"loader.{key}={cfg[key]!r} is not valid: use true or false.")
    return {
        "num_workers": workers,
        "pin_memory": _auto_bool("pin_memory", cfg.pin_memory, cuda),
        "persistent_workers": persistent,
        "prefetch_factor": prefetch,
        "shuffle": cfg.shuffle,
        "drop_last": cfg.drop_last,
    }
