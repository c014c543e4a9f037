"""The training loop: the one the PyTorch tutorials teach, written out top to bottom.

    for each epoch:
        model.train(); for each batch: zero_grad, forward, loss, backward, step
        model.eval();  under torch.no_grad(): validation metrics
        scheduler step, metrics row, last.pt (+ best.pt when the monitored metric improved)

The only host-device synchronisations are `.item()` at logging intervals, once
per epoch, and the progress bar's read of the loss at most twice a second, so a
GPU is never stalled per step.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dlrun.engine.checkpoint import FORMAT, save_checkpoint
from dlrun.engine.metrics import Monitor, RunningMean, make_metrics, prepare


@dataclass
class FitResult:
    best_epoch: int
    best_value: float
    best_metrics: dict
    final_metrics: dict
    steps: int


def fit(model: nn.Module, criterion: nn.Module, optimizer, scheduler, loaders: dict, *, epochs: int,
        device: torch.device, monitor: Monitor, task: str, num_outputs: int, run_dir: Path, loggers,
        console, log_every_n_steps: int, config: dict, data_info: dict | None = None,
        frozen=None) -> FitResult:
    """Train for `epochs`. `frozen` (models.transfer.Frozen) keeps a backbone fixed until its epoch."""
    checkpoints = Path(run_dir) / "checkpoints"
    model.to(device)
    criterion.to(device)  # regression losses hold the target scale as buffers
    metrics = make_metrics(task, num_outputs).to(device)
    step = 0
    best_metrics: dict = {}
    row: dict = {}

    for epoch in range(1, epochs + 1):
        # ---- train ---------------------------------------------------------
        model.train()
        if frozen is not None:
            frozen.hold(epoch, console.say)  # frozen BatchNorm layers keep their statistics
        train_loss = RunningMean(device)
        started = time.perf_counter()
        seen = 0
        with console.epoch(epoch, epochs, len(loaders["train"])) as progress:
            for batch, (inputs, targets) in enumerate(loaders["train"], start=1):
                inputs = inputs.to(device, non_blocking=True)     # (B, C, H, W) or (B, F)
                targets = targets.to(device, non_blocking=True)   # (B,) class ids or (B, K) values
                optimizer.zero_grad()
                outputs = model(inputs)                           # (B, classes) or (B, K)
                loss = criterion(outputs, targets)
                loss.backward()
                optimizer.step()

                step += 1
                seen += len(targets)
                train_loss.update(loss, len(targets))  # summed on the device, no sync
                log_now = step % log_every_n_steps == 0
                if log_now:
                    loggers.log_step({"train/loss_step": loss.item(), "epoch": epoch}, step)  # host sync
                progress(batch, loss, seen / (time.perf_counter() - started), log_now)

        # ---- validate ------------------------------------------------------
        val = evaluate(model, loaders["val"], criterion, metrics, device, task, split="val")
        lr = optimizer.param_groups[0]["lr"]  # the rate this epoch trained with
        if scheduler is not None:
            scheduler.step()
        row = {"epoch": epoch, "train/loss": train_loss.compute(), **val, "lr": lr,
               "seconds": round(time.perf_counter() - started, 3)}
        loggers.log_epoch(row, step)

        # ---- checkpoint ----------------------------------------------------
        improved = monitor.update(row[monitor.metric], epoch)
        if improved:
            best_metrics = dict(row)
        state = {
            "format": FORMAT, "epoch": epoch, "global_step": step,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "metrics": row, "monitor": {"metric": monitor.metric, "mode": monitor.mode,
                                        "best_value": monitor.best_value, "best_epoch": monitor.best_epoch},
            "config": config, "data_info": data_info,
        }
        save_checkpoint(state, checkpoints / "last.pt")
        if improved:
            save_checkpoint(state, checkpoints / "best.pt")
        console.epoch_end(row, improved)

    return FitResult(monitor.best_epoch, monitor.best_value, best_metrics, row, step)


@torch.no_grad()
def evaluate(model: nn.Module, loader, criterion: nn.Module, metrics, device: torch.device, task: str,
             split: str) -> dict[str, float]:
    """Mean loss and task metrics over `loader`, under model.eval() and torch.no_grad()."""
    model.eval()
    metrics.reset()
    mean_loss = RunningMean(device)
    for inputs, targets in loader:
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        outputs = model(inputs)
        mean_loss.update(criterion(outputs, targets), len(targets))
        metrics.update(*prepare(outputs, targets, task))
    values = {f"{split}/loss": mean_loss.compute()}
    values.update({f"{split}/{name}": value.item() for name, value in metrics.compute().items()})
    return values
