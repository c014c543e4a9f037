"""Checks on the composed config, gathered and reported together before anything is built."""

import re

from omegaconf import DictConfig, OmegaConf

from dlrun.distributed.topology import topology_problems
from dlrun.errors import DlrunError
from dlrun.loader_options import loader_options

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
PROGRESS_MODES = ("auto", "bar", "lines", "none")
MONITOR_MODES = ("auto", "min", "max")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def problems(cfg: DictConfig) -> list[str]:
    found = [f"{key} is required: set it on the command line, e.g. {key}=..." for key in sorted(OmegaConf.missing_keys(cfg))]
    lr = cfg.get("lr")
    if not _is_number(lr) or not lr > 0:
        found.append(f"lr={lr!r} is not a positive number: use e.g. lr=1e-3.")
    for key, example in (("batch_size", 64), ("epochs", 10)):
        value = cfg.get(key)
        if not _is_int(value) or value < 1:
            found.append(f"{key}={value!r} must be a whole number >= 1, e.g. {key}={example}.")
    seed = cfg.get("seed")
    if not _is_int(seed) or not 0 <= seed < 2**32:
        found.append(f"seed={seed!r} must be a whole number from 0 to 2**32-1, e.g. seed=0.")
    trainer = cfg.trainer
    if not DEVICE_PATTERN.match(str(trainer.device)):
        found.append(f"trainer.device={trainer.device!r} is not a device: use auto, cpu, cuda, cuda:N or mps.")
    if not _is_int(trainer.log_every_n_steps) or trainer.log_every_n_steps < 1:
        found.append(f"trainer.log_every_n_steps={trainer.log_every_n_steps!r} must be a whole number >= 1.")
    if trainer.progress not in PROGRESS_MODES:
        found.append(f"trainer.progress={trainer.progress!r} is not valid: use one of {', '.join(PROGRESS_MODES)}.")
    if trainer.mode not in MONITOR_MODES:
        found.append(f"trainer.mode={trainer.mode!r} is not valid: use one of {', '.join(MONITOR_MODES)}.")
    devices, nodes = trainer.get("devices", 1), trainer.get("num_nodes", 1)
    found += topology_problems(devices, nodes, trainer.get("rdzv_endpoint"))
    if _is_int(devices) and _is_int(nodes) and _is_int(cfg.get("batch_size")) and devices * nodes > 1 \
            and cfg.batch_size % (devices * nodes):
        world = devices * nodes
        found.append(f"batch_size={cfg.batch_size} is the global batch and must divide evenly among the {world} "
                     f"training processes: use a multiple of {world}.")
    found += scheduler_problems(cfg.get("scheduler"))
    if "loader" in cfg:
        try:
            loader_options(cfg.loader, in_memory=True, cuda=False)
        except DlrunError as err:
            found.append(str(err))
    return found


# scheduler.KEY: (check, what is valid); each applies where the chosen scheduler has the key
SCHEDULER_RULES = {
    "step_size": (lambda v: _is_int(v) and v >= 1, "a whole number of epochs >= 1"),
    "gamma": (lambda v: _is_number(v) and 0 < v <= 1, "a number with 0 < gamma <= 1"),
    "factor": (lambda v: _is_number(v) and 0 < v < 1, "a number with 0 < factor < 1"),
    "patience": (lambda v: _is_int(v) and v >= 0, "a whole number of epochs >= 0"),
    "T_max": (lambda v: _is_int(v) and v >= 1, "a whole number of epochs >= 1"),
    "eta_min": (lambda v: _is_number(v) and v >= 0, "a learning rate >= 0"),
    "min_lr": (lambda v: _is_number(v) and v >= 0, "a learning rate >= 0"),
    "pct_start": (lambda v: _is_number(v) and 0 < v < 1, "a fraction with 0 < pct_start < 1"),
    "warmup_fraction": (lambda v: _is_number(v) and 0 <= v < 1, "a fraction with 0 <= warmup_fraction < 1"),
    "max_lr": (lambda v: _is_number(v) and v > 0, "a learning rate > 0"),
    "total_steps": (lambda v: v == "auto" or (_is_int(v) and v >= 1), "auto or a whole number of steps >= 1"),
    "milestones": (lambda v: isinstance(v, (list, tuple)) and all(_is_int(m) and m >= 1 for m in v)
                   and list(v) == sorted(set(v)), "increasing epochs >= 1, e.g. [5, 8]"),
    "interval": (lambda v: v in ("epoch", "step"), "epoch or step"),
}


def scheduler_problems(scheduler) -> list[str]:
    if not scheduler or not hasattr(scheduler, "items"):
        return []
    found = []
    for key, (ok, valid) in SCHEDULER_RULES.items():
        if key in scheduler:
            value = OmegaConf.to_container(scheduler[key]) if OmegaConf.is_config(scheduler[key]) else scheduler[key]
            if not ok(value):
                found.append(f"scheduler.{key}={value!r} is not valid: use {valid}.")
    return found


def validate(cfg: DictConfig) -> None:
    found = problems(cfg)
    if len(found) == 1:
        raise DlrunError(found[0])
    if found:
        raise DlrunError("the config has these problems:\n" + "\n".join(f"  - {p}" for p in found))
