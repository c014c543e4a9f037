"""The trainer group (`trainer.*`) read once into a checked, typed plan for the loop."""

import math
from dataclasses import dataclass

import torch

from dlrun.errors import DlrunError

PRECISIONS = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}


@dataclass(frozen=True)
class TrainPlan:
    epochs: int
    precision: str                  # "32" | "bf16" | "16"
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
        return _limit(self.limit_train_batches, available, "trainer.limit_train_batches")

    def val_batches(self, available: int) -> int:
        return _limit(self.limit_val_batches, available, "trainer.limit_val_batches")

    def optimizer_steps_per_epoch(self, available_batches: int) -> int:
        return math.ceil(self.train_batches(available_batches) / self.grad_accum_steps)

    def validates(self, epoch: int) -> bool:
        return epoch % self.val_every_n_epochs == 0 or epoch == self.epochs


def _whole(key: str, value, low: int, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise DlrunError(f"{key}={value!r} must be a whole number >= {low}" + (" or null." if allow_none else "."))
    return value


def _limit(value, available: int, key: str) -> int:
    if value is None:
        return available
    if isinstance(value, float) and 0 < value <= 1:
        return max(1, int(available * value))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return min(value, available)
    raise DlrunError(f"{key}={value!r} is not valid: use a number of batches >= 1, a share in (0, 1], or null.")


def plan_from_config(cfg, epochs: int, device: torch.device) -> TrainPlan:
    precision = str(cfg.precision)
    if precision not in PRECISIONS:
        raise DlrunError(f"trainer.precision={cfg.precision!r} is not valid: use 32, bf16 or 16.")
    if precision == "16" and device.type != "cuda":
        raise DlrunError("trainer.precision=16 (float16 with a gradient scaler) needs a CUDA device; "
                         "on the CPU use trainer.precision=bf16.")
    clip = cfg.grad_clip
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, (int, float)) or clip <= 0):
        raise DlrunError(f"trainer.grad_clip={clip!r} must be a positive number (a gradient norm) or null.")
    max_epochs = _whole("trainer.max_epochs", cfg.get("max_epochs"), 1, allow_none=True)
    stopping = cfg.get("early_stopping") or {}
    for key in ("limit_train_batches", "limit_val_batches"):
        _limit(cfg[key], 10**9, f"trainer.{key}")
    return TrainPlan(
        epochs=min(epochs, max_epochs) if max_epochs else epochs,
        precision=precision,
        grad_accum_steps=_whole("trainer.grad_accum_steps", cfg.grad_accum_steps, 1),
        grad_clip=float(clip) if clip is not None else None,
        limit_train_batches=cfg.limit_train_batches,
        limit_val_batches=cfg.limit_val_batches,
        val_every_n_epochs=_whole("trainer.val_every_n_epochs", cfg.val_every_n_epochs, 1),
        log_every_n_steps=_whole("trainer.log_every_n_steps", cfg.log_every_n_steps, 1),
        save_top_k=_whole("trainer.save_top_k", cfg.save_top_k, 1),
        checkpoint_every_n_steps=_whole("trainer.checkpoint_every_n_steps", cfg.checkpoint_every_n_steps, 1,
                                        allow_none=True),
        patience=_whole("trainer.early_stopping.patience", stopping.get("patience"), 1, allow_none=True),
        min_delta=float(stopping.get("min_delta") or 0.0),
        channels_last=bool(cfg.channels_last),
    )
