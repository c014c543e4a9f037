"""The training loop: the one the PyTorch tutorials teach, written out top to bottom.

    for each epoch:
        model.train(); for each batch: [MixUp/CutMix], forward, loss, backward,
                                       (every grad_accum_steps) step, zero_grad, [EMA update]
        model.eval();  under torch.no_grad(): validation metrics [of the EMA weights, when asked]
        scheduler step [SWALR from swa.start_epoch], metrics row, last.pt (+ best.pt when the monitored metric improved)
    [SWA: update_bn, validate the averaged model, which becomes best.pt]

Everything a resume needs is in a TrainState saved with every checkpoint: a resumed
run replays the interrupted epoch's data order, skips the batches it had trained,
restores every random generator, and ends with the same weights as an
uninterrupted run.

The only host-device synchronisations are `.item()` at logging intervals, once
per epoch, and the progress bar's read of the loss at most twice a second, so a
GPU is never stalled per step.
"""

import signal
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dlrun.distributed.ranks import any_rank, distributed, global_max, global_mean, is_main, unwrap
from dlrun.engine.averaging import Averages
from dlrun.engine.checkpoint import FORMAT, save_checkpoint
from dlrun.engine.interrupt import Interrupted
from dlrun.engine.metrics import RunningMean, prepare
from dlrun.engine.state import TrainState, capture_rng, restore_rng
from dlrun.errors import DlrunError


@dataclass
class FitResult:
    state: TrainState
    final_metrics: dict


@dataclass
class Parts:
    """The built objects the loop drives."""

    model: nn.Module
    criterion: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: object | None        # dlrun.training.schedulers.Schedule
    scaler: torch.amp.GradScaler
    loaders: dict
    frozen: object | None = None   # dlrun.models.transfer.Frozen
    averages: object | None = None  # dlrun.engine.averaging.Averages: EMA / SWA of the weights
    mix: object | None = None       # MixUp / CutMix of training batches (dlrun.datasets.batch_mix), soft targets


def fit(parts: Parts, plan, *, device: torch.device, monitor, task: str, metrics, run_dir: Path,
        loggers, console, record: dict, state: TrainState | None = None, stop=None, pruning=None) -> FitResult:
    """Train by `plan` (engine.plan.TrainPlan). `record`: plain data stored in every checkpoint
    (config, data description, W&B id). `metrics`: the run's TaskMetrics (on `device`), for validation.
    `state`: where to resume. `stop`: a StopFlag (signals).
    `pruning`: a search trial's pruner (dlrun.search.trial.TrialPruning), asked after each validation."""
    model, criterion, optimizer, schedule, scaler = parts.model, parts.criterion, parts.optimizer, parts.schedule, parts.scaler
    train_loader = parts.loaders["train"]
    autocast = (torch.autocast(device.type, dtype=plan.autocast_dtype) if plan.autocast_dtype else nullcontext())
    checkpoints = Path(run_dir) / "checkpoints"
    resuming = state is not None
    state = state or TrainState()
    batches = plan.train_batches(len(train_loader))
    averages = parts.averages or Averages(None, {}, optimizer, plan.epochs)
    row: dict = {}

    def save(path_name: str, weights: nn.Module | None = None) -> None:
        """`weights`: the model to store as "model" when not the one training (best.pt of an
        evaluated EMA, the SWA model); the training weights are then in the averages' state."""
        if state.batch == 0:  # between epochs: the next epoch's data order starts from here
            state.data_order = train_loader.generator.get_state()
        if not is_main():  # rank 0 writes every file of a distributed run
            return
        save_checkpoint({
            "format": FORMAT, "epoch": state.epoch if state.batch else state.epoch - 1, "global_step": state.step,
            "model": unwrap(weights or model).state_dict(),  # without DDP's `module.` or torch.compile's prefixes
            **({"averages": averages.state_dict()} if averages else {}),
            "optimizer": optimizer.state_dict(),
            "scheduler": schedule.state_dict() if schedule is not None else None, "scaler": scaler.state_dict(),
            "metrics": row, "train_state": {**state.to_dict(), "rng": capture_rng()}, **record,
        }, checkpoints / path_name, keep_previous=path_name == "last.pt")

    while state.epoch <= plan.epochs:
        epoch = state.epoch
        # ---- train ---------------------------------------------------------
        model.train()
        if parts.frozen is not None:
            parts.frozen.hold(epoch, console.say)  # frozen BatchNorm layers keep their statistics
        if resuming:  # replay this epoch's data order; the batches already trained are skipped below
            train_loader.generator.set_state(state.data_order)
        else:
            state.data_order = train_loader.generator.get_state()
        if hasattr(train_loader.sampler, "set_epoch"):  # several processes: each its share, reshuffled per epoch
            train_loader.sampler.set_epoch(epoch)
        loss_sum = RunningMean(device, state.loss_total, state.loss_count)
        first_bad_step = torch.full((), -1, device=device)  # first step with a non-finite loss, kept on the device
        step_on_device = torch.full((), state.step, device=device)
        started, seen = time.perf_counter(), 0
        with console.epoch(epoch, plan.epochs, batches) as progress:
            data = iter(train_loader)
            for _ in range(state.batch):
                next(data)
            if resuming:  # the generators as they were at the checkpoint (dropout, augmentation)
                restore_rng(state.rng)
                resuming = False
            for inputs, targets in data:
                if state.batch >= batches:
                    break
                inputs = inputs.to(device, non_blocking=True)     # (B, C, H, W) or (B, F)
                targets = targets.to(device, non_blocking=True)   # (B,) class ids or (B, K) values
                if parts.mix is not None:                         # MixUp / CutMix: targets become (B, classes)
                    inputs, targets = parts.mix(inputs, targets)
                if plan.channels_last and inputs.dim() == 4:
                    inputs = inputs.contiguous(memory_format=torch.channels_last)
                with autocast:
                    outputs = model(inputs)                       # (B, classes) or (B, K)
                    loss = criterion(outputs, targets)
                scaler.scale(loss / plan.grad_accum_steps).backward()
                state.batch += 1
                seen += len(targets)
                loss_sum.update(loss.float(), len(targets))       # summed on the device, no sync
                first_bad_step = torch.where(~torch.isfinite(loss.detach()) & (first_bad_step < 0),
                                             step_on_device, first_bad_step)
                if state.batch % plan.grad_accum_steps and state.batch != batches:
                    progress(state.batch, loss, seen / (time.perf_counter() - started), False)
                    continue

                # ---- optimizer step (every grad_accum_steps batches) ----
                if plan.grad_clip is not None:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), plan.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                if schedule is not None and not averages.swa_epoch(epoch):
                    schedule.after_step()
                state.step += 1
                step_on_device += 1
                averages.after_step(unwrap(model), state.step)   # the EMA, every ema.every_n_steps
                log_now = state.step % plan.log_every_n_steps == 0
                if log_now:
                    check_finite(first_bad_step, epoch, plan.precision)  # host sync, at the logging interval
                    loggers.log_step({"train/loss_step": global_mean(loss.detach(), 1), "epoch": epoch,
                                      "lr": optimizer.param_groups[0]["lr"]}, state.step)
                progress(state.batch, loss, seen / (time.perf_counter() - started), log_now)
                # Several processes stop together, at a logging step they all reach (a signal lands on
                # each at a different moment): a rank stopping alone would leave the others waiting.
                stopping = any_rank(bool(stop), device) if distributed() and log_now else bool(stop) and not distributed()
                if stopping or (plan.checkpoint_every_n_steps and state.step % plan.checkpoint_every_n_steps == 0):
                    check_finite(first_bad_step, epoch, plan.precision)
                    state.loss_total, state.loss_count = loss_sum.state()
                    save("last.pt")
                    if stopping:
                        raise Interrupted(stop.signum or signal.SIGTERM)

        check_finite(first_bad_step, epoch, plan.precision)
        train_loss = loss_sum.compute()

        # ---- validate ------------------------------------------------------
        validated = plan.validates(epoch)
        val = evaluate(averages.evaluated(model), parts.loaders["val"], criterion, metrics, device, task, split="val",
                       batches=plan.val_batches(len(parts.loaders["val"])), autocast=autocast) if validated else {}
        lr = optimizer.param_groups[0]["lr"]  # the rate this epoch trained with (epoch schedules)
        row = {"epoch": epoch, "train/loss": train_loss, **val, "lr": lr,
               "seconds": round(time.perf_counter() - started, 3)}
        if schedule is not None and not averages.swa_epoch(epoch):   # from swa.start_epoch, SWALR sets the rate
            schedule.after_epoch(row.get(monitor.metric) if validated else None)
        averages.after_epoch(unwrap(model), epoch)
        loggers.log_epoch(row, state.step)

        # ---- checkpoint ----------------------------------------------------
        improved = validated and monitor.update(state, row, epoch)
        if validated and pruning is not None and not state.stopped:  # a search stops unpromising trials early
            state.stopped = pruning.check(epoch, monitor.metric, row[monitor.metric])
            state.pruned_epoch = epoch if state.stopped else None
        state.epoch, state.batch, state.loss_total, state.loss_count = epoch + 1, 0, 0.0, 0
        save("last.pt")
        if improved:
            save("best.pt", averages.evaluated(model))
        if validated and plan.save_top_k > 1:
            keep_top_k(state, monitor, row[monitor.metric], epoch, plan.save_top_k, checkpoints, save)
        console.epoch_end(row, improved)
        if state.stopped:
            console.say(state.stopped)
            break

    if averages.swa is not None and averages.swa_epoch(plan.epochs) and not state.stopped:
        row = finish_swa(averages, parts.loaders, criterion, metrics, device, task, state, monitor, save, console)
    return FitResult(state, row)


def finish_swa(averages, loaders, criterion, metrics, device, task, state: TrainState, monitor, save, console) -> dict:
    """The SWA model, its BatchNorm statistics recomputed (update_bn), validated and kept as
    best.pt: the run's result (summary.json's best is its validation)."""
    swa_model = averages.finish_swa(loaders["train"], device)
    val = evaluate(swa_model, loaders["val"], criterion, metrics, device, task, split="val")
    state.best_epoch = state.epoch - 1
    state.best_metrics = {"epoch": state.best_epoch, **val}
    state.best_value = val.get(monitor.metric, state.best_value)
    console.say("stochastic weight averaging: the averaged model validates at "
                + ", ".join(f"{k} {v:.4g}" for k, v in val.items()))
    save("best.pt", swa_model)
    return {"epoch": state.best_epoch, **val}


def check_finite(first_bad_step: torch.Tensor, epoch: int, precision: str) -> None:
    """Stop on a non-finite loss (fp16's scaler skips such steps by design, so it is exempt)."""
    bad = int(global_max(first_bad_step).item())  # any rank's bad step stops every rank
    if bad >= 0 and precision != "16":
        raise DlrunError(
            f"The training loss became NaN or infinite at epoch {epoch}, optimizer step {bad + 1}. "
            "Try a lower lr, gradient clipping (trainer.grad_clip=1.0) or trainer.precision=32. "
            "The checkpoints from before that step are intact (checkpoints/last.pt).")


def keep_top_k(state: TrainState, monitor, value: float, epoch: int, k: int, folder: Path, save) -> None:
    """Keep epoch checkpoints of the k best validations (epoch<N>.pt), deleting the others."""
    state.top_k.append([value, epoch])
    state.top_k.sort(key=lambda item: item[0], reverse=monitor.mode == "max")
    dropped, state.top_k = state.top_k[k:], state.top_k[:k]
    if [value, epoch] in state.top_k:
        save(f"epoch{epoch}.pt")
    for _, old in dropped:
        if is_main():
            (folder / f"epoch{old}.pt").unlink(missing_ok=True)


@torch.no_grad()
def evaluate(model: nn.Module, loader, criterion: nn.Module, metrics, device: torch.device, task: str,
             split: str, batches: int | None = None, autocast=None) -> dict[str, float]:
    """Mean loss and task metrics over `loader`, under model.eval() and torch.no_grad()."""
    model.eval()
    metrics.reset()
    mean_loss = RunningMean(device)
    for index, (inputs, targets) in enumerate(loader):
        if batches is not None and index >= batches:
            break
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        with autocast or nullcontext():
            outputs = model(inputs)
            loss = criterion(outputs, targets)
        mean_loss.update(loss.float(), len(targets))
        metrics.update(*prepare(outputs.float(), targets, task))
    values = {f"{split}/loss": mean_loss.compute()}
    values.update({f"{split}/{name}": value.item() for name, value in metrics.compute().items()
                   if value.numel() == 1})
    return values
