"""The trainer group (`trainer.*`), checked with the config, read once into a typed plan for the loop."""

import math
from dataclasses import dataclass

import torch

from dlrun.checks.trainer import FP16_NEEDS_CUDA
from dlrun.errors import DlrunError

PRECISIONS = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}


@dataclass(frozen=True)
class TrainPlan:
    epochs: int
    precision: str  # "32" | "bf16" | "16"
    grad_accum_steps: int
    grad_clip: float | None
    limit_train_batches: int | float | None
    limit_val_batches: int | float | None
    val_every_n_epochs: int
    log_every_n_steps: int
    save_top_k: int
    checkpoint_every_n_steps: int | None
    patience: int | None
    min_delta: float
    channels_last: bool = False

    @property
    def autocast_dtype(self):
        return PRECISIONS[self.precision]

    def train_batches(self, available: int) -> int:
        return _limit(self.limit_train_batches, available)

    def val_batches(self, available: int) -> int:
        return _limit(self.limit_val_batches, available)

    def optimizer_steps_per_epoch(self, available_batches: int) -> int:
        return math.ceil(self.train_batches(available_batches) / self.grad_accum_steps)

    def validates(self, epoch: int) -> bool:
        return epoch % self.val_every_n_epochs == 0 or epoch == self.epochs


def _limit(value, available: int) -> int:
    """trainer.limit_*_batches: null (all), a share in (0, 1] or a number of batches."""
    if value is None:
        return available
    if isinstance(value, float):
        return max(1, int(available * value))
    return min(value, available)


def plan_from_config(cfg, epochs: int, device: torch.device) -> TrainPlan:
    """The checked trainer config (dlrun.checks.trainer holds every rule) as a plan. What the
    config alone cannot show is checked here: fp16 on a device `auto` did not make CUDA."""
    precision = str(cfg.precision)
    if precision == "16" and device.type != "cuda":
        raise DlrunError(FP16_NEEDS_CUDA)
    stopping = cfg.get("early_stopping") or {}
    return TrainPlan(
        epochs=min(epochs, cfg.max_epochs) if cfg.get("max_epochs") else epochs,
        precision=precision,
        grad_accum_steps=cfg.grad_accum_steps,
        grad_clip=float(cfg.grad_clip) if cfg.grad_clip is not None else None,
        limit_train_batches=cfg.limit_train_batches,
        limit_val_batches=cfg.limit_val_batches,
        val_every_n_epochs=cfg.val_every_n_epochs,
        log_every_n_steps=cfg.log_every_n_steps,
        save_top_k=cfg.save_top_k,
        checkpoint_every_n_steps=cfg.checkpoint_every_n_steps,
        patience=stopping.get("patience"),
        min_delta=float(stopping.get("min_delta") or 0.0),
        channels_last=bool(cfg.channels_last),
    )
