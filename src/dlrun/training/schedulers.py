"""Learning-rate schedules from conf/scheduler/ or the user's own, stepped at the granularity each declares.

A YAML names its scheduler (`_target_`, or `class_path` + `kwargs` for `scheduler=custom`)
and its `interval`: `epoch` (after each epoch; `plateau` gets the monitored metric) or
`step` (after each optimizer step). `total_steps: auto` becomes the optimizer steps of
the whole run. A user's scheduler is called with the optimizer and needs step(),
state_dict() and load_state_dict() (what resume restores); one whose step takes the
metric (like ReduceLROnPlateau) subclasses ReduceLROnPlateau.
"""

import math

from omegaconf import OmegaConf
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, ReduceLROnPlateau

from dlrun.config.imports import build, named
from dlrun.errors import DlrunError
from dlrun.training.kinds import refuse_other_kinds

NEEDED = ("step", "state_dict", "load_state_dict")
WANTED = (
    "a learning-rate scheduler (a torch LRScheduler, or a class or function taking the optimizer "
    "whose result has step(), state_dict() and load_state_dict())"
)

INTERVALS = ("epoch", "step")


def warmup_cosine(optimizer, *, total_steps: int, warmup_fraction: float = 0.05, eta_min: float = 0.0):
    """Linear warm-up over `warmup_fraction` of the steps, then cosine decay to `eta_min`."""
    warmup = int(total_steps * warmup_fraction)
    base = [group["lr"] for group in optimizer.param_groups]

    def factor(step: int, lr: float) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total_steps - warmup)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return (eta_min + (lr - eta_min) * cosine) / lr if lr > 0 else 0.0

    return LambdaLR(optimizer, [lambda s, lr=lr: factor(s, lr) for lr in base])


class Schedule:
    """A scheduler and when to step it."""

    def __init__(self, scheduler, interval: str):
        self.scheduler, self.interval = scheduler, interval

    def after_step(self) -> None:
        if self.interval == "step":
            self.scheduler.step()

    def after_epoch(self, metric: float | None) -> None:
        """`metric`: the monitored value when this epoch validated, else None."""
        if self.interval != "epoch":
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            if metric is not None:
                self.scheduler.step(metric)
        else:
            self.scheduler.step()

    def state_dict(self) -> dict:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state)


def build_schedule(cfg, optimizer, *, total_steps: int, monitor_mode: str) -> Schedule | None:
    """None for `scheduler=none`."""
    if cfg.get("_target_") is None and cfg.get("class_path") is None:
        return None
    options = OmegaConf.to_container(cfg, resolve=True)
    interval = options.pop("interval", "epoch")  # epoch | step, checked with the config
    for values in (options, options.get("kwargs") or {}):
        if values.get("total_steps") == "auto":
            values["total_steps"] = total_steps
        if values.get("mode") == "auto":
            values["mode"] = monitor_mode
    target, where = named(options, "scheduler")
    refuse_other_kinds(target, where, WANTED, allowed=(LRScheduler, ReduceLROnPlateau))
    scheduler = build(options, "scheduler", optimizer)
    missing = [name for name in NEEDED if not callable(getattr(scheduler, name, None))]
    if missing:
        raise DlrunError(f"{where} built a {type(scheduler).__name__} without {', '.join(missing)}(): not {WANTED}.")
    return Schedule(scheduler, interval)
