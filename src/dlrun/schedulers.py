"""Learning-rate schedules from conf/scheduler/, stepped at the granularity each declares.

A YAML names its torch scheduler (`_target_`) and its `interval`: `epoch` (after each
epoch; `plateau` gets the monitored metric) or `step` (after each optimizer step).
`total_steps: auto` becomes the optimizer steps of the whole run.
"""

import math

from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from dlrun.errors import DlrunError, root_cause

INTERVALS = ("epoch", "step")


def warmup_cosine(optimizer, *, total_steps: int, warmup_fraction: float = 0.05, eta_min: float = 0.0):
    """Linear warm-up over `warmup_fraction` of the steps, then cosine decay to `eta_min`."""
    if not 0 <= warmup_fraction < 1:
        raise DlrunError(f"scheduler.warmup_fraction={warmup_fraction} must be in [0, 1).")
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
    if cfg.get("_target_") is None:
        return None
    options = OmegaConf.to_container(cfg, resolve=True)
    interval = options.pop("interval", "epoch")
    if interval not in INTERVALS:
        raise DlrunError(f"scheduler.interval={interval!r} is not valid: use epoch or step.")
    if options.get("total_steps") == "auto":
        options["total_steps"] = total_steps
    if options.get("mode") == "auto":
        options["mode"] = monitor_mode
    try:
        scheduler = instantiate(options)(optimizer)
    except DlrunError:
        raise
    except Exception as err:
        raise DlrunError(f"The scheduler could not be built ({cfg._target_}): {root_cause(err)}") from err
    return Schedule(scheduler, interval)
