"""Averages of the weights with torch's own `torch.optim.swa_utils`: an exponential moving
average (EMA, `trainer.ema.*`) updated every N optimizer steps, and stochastic weight
averaging (SWA, `trainer.swa.*`) of the weights at the end of each epoch from
`start_epoch`, with SWALR's learning rate and `update_bn` before the averaged model is
evaluated. Both live in every checkpoint, so a resumed run continues them exactly.

    trainer.ema.decay=0.9998 [trainer.ema.every_n_steps=32 trainer.ema.warmup_steps=N trainer.ema.evaluate=true]
    trainer.swa.start_epoch=8 [trainer.swa.lr=0.01 trainer.swa.anneal_epochs=1]
"""

import torch
from torch import nn
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn


class Averages:
    """The run's EMA and SWA models (either may be None)."""

    def __init__(self, model: nn.Module, trainer_cfg, optimizer):
        ema, swa = trainer_cfg.get("ema") or {}, trainer_cfg.get("swa") or {}
        decay = ema.get("decay")  # every trainer.ema/swa value is checked with the config
        self.ema = None
        if decay is not None:
            # use_buffers: BatchNorm statistics are averaged too, as in torchvision's recipe
            self.ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
        self.every, self.warmup = int(ema.get("every_n_steps") or 1), int(ema.get("warmup_steps") or 0)
        self.evaluate_ema = bool(ema.get("evaluate")) and self.ema is not None
        self.swa_start = swa.get("start_epoch")
        self.swa = self.swa_schedule = None
        if self.swa_start is not None:
            self.swa = AveragedModel(model)
            rate = swa.get("lr") if swa.get("lr") is not None else optimizer.param_groups[0]["lr"]
            self.swa_schedule = SWALR(optimizer, swa_lr=rate, anneal_epochs=int(swa.get("anneal_epochs") or 1))

    def __bool__(self) -> bool:
        return self.ema is not None or self.swa is not None

    def after_step(self, model: nn.Module, step: int) -> None:
        """After optimizer step `step` (counted from 1): update the EMA every N steps; during the
        warm-up it copies the weights (an average of one)."""
        if self.ema is not None and step % self.every == 0:
            if step <= self.warmup:
                self.ema.n_averaged.zero_()
            self.ema.update_parameters(model)

    def swa_epoch(self, epoch: int) -> bool:
        """True from start_epoch on: SWALR sets the rate instead of the run's scheduler."""
        return self.swa is not None and epoch >= self.swa_start

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        if self.swa_epoch(epoch):
            self.swa.update_parameters(model)
            self.swa_schedule.step()

    def evaluated(self, model: nn.Module) -> nn.Module:
        """The model validation, best.pt and test use: the EMA with trainer.ema.evaluate=true."""
        return self.ema.module if self.evaluate_ema else model

    def finish_swa(self, train_loader, device: torch.device) -> nn.Module:
        """The SWA model with BatchNorm statistics recomputed over the training data (update_bn)."""
        update_bn(((inputs.to(device), targets) for inputs, targets in train_loader), self.swa, device=device)
        return self.swa.module

    def state_dict(self) -> dict:
        return {
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "swa": self.swa.state_dict() if self.swa is not None else None,
            "swa_schedule": self.swa_schedule.state_dict() if self.swa_schedule is not None else None,
        }

    def load_state_dict(self, state: dict | None) -> None:
        for name in ("ema", "swa", "swa_schedule"):
            part = getattr(self, name)
            if part is not None and (state or {}).get(name) is not None:
                part.load_state_dict(state[name])
