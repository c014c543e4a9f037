"""The training loop: the one the PyTorch tutorials teach, written out top to bottom.

    fit: for each epoch
        train_epoch:  model.train(); for each batch: [MixUp/CutMix], forward, loss, backward
                      (no gradient all-reduce but on a step's last micro-batch under DDP)
            step:     every grad_accum_steps batches: [clip], optimizer step, zero_grad,
                      scheduler step, [EMA update], log, [step checkpoint, stop on a signal]
        end_epoch:    model.eval(); under torch.no_grad(): validation metrics [of the EMA];
                      scheduler step [SWALR from swa.start_epoch], metrics row, pruning,
                      last.pt (+ best.pt when the monitored metric improved, + top-k)
    [finish_swa: update_bn, validate the averaged model, which becomes best.pt]

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

from dlrun import tasks
from dlrun.distributed import ranks
from dlrun.engine.averaging import Averages
from dlrun.engine.checkpoint import FORMAT, save_checkpoint
from dlrun.engine.interrupt import Interrupted
from dlrun.engine.profiling import NoProfiler
from dlrun.engine.state import TrainState, capture_rng, restore_rng
from dlrun.engine.throughput import DATA_WAIT_HINT, EpochClock, data_wait_hint
from dlrun.errors import DlrunError
from dlrun.metrics.builtin import RunningMean, prepare


def own_loss_sums(state) -> tuple[float, int, dict]:
    """This rank's training-loss sums of the epoch so far, from a mid-epoch checkpoint: its own
    when the checkpoint has one per rank of this world; otherwise (another number of processes)
    the run's sums, on rank 0 alone, so the epoch's mean over every rank counts them once."""
    if len(state.loss_ranks) == ranks.world_size():
        return tuple(state.loss_ranks[ranks.rank()])
    if ranks.is_main():
        return state.loss_total, state.loss_count, state.loss_parts
    return 0.0, 0, {}


@dataclass
class FitResult:
    state: TrainState
    final_metrics: dict


@dataclass
class Parts:
    """The built objects the loop drives."""

    model: nn.Module  # what trains: the module, inside DDP and torch.compile when used
    criterion: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: object | None  # dlrun.training.schedulers.Schedule
    scaler: torch.amp.GradScaler
    loaders: dict
    frozen: object | None = None  # dlrun.models.transfer.Frozen
    averages: object | None = None  # dlrun.engine.averaging.Averages: EMA / SWA of the weights
    mix: object | None = None  # MixUp / CutMix of training batches (dlrun.datasets.batch_mix), soft targets


class Checkpointer:
    """Writes the run's checkpoints (rank 0 only): the weights, every optimizer, scheduler,
    scaler and averaging state, the TrainState with the random generators, and `record`
    (config, data description, W&B id: plain data)."""

    def __init__(self, run_dir: Path, parts: Parts, averages: Averages, record: dict):
        self.folder = Path(run_dir) / "checkpoints"
        self.parts, self.averages, self.record = parts, averages, record

    def save(self, name: str, state: TrainState, row: dict, weights: nn.Module | None = None) -> None:
        """`weights`: the model to store as "model" when not the one training (best.pt of an
        evaluated EMA, the SWA model); the training weights are then in the averages' state."""
        parts = self.parts
        if state.batch == 0:  # between epochs: the next epoch's data order starts from here
            state.data_order = parts.loaders["train"].generator.get_state()
        if not ranks.is_main():  # rank 0 writes every file of a distributed run
            return
        save_checkpoint(
            {
                "format": FORMAT,
                "epoch": state.epoch if state.batch else state.epoch - 1,
                "global_step": state.step,
                "model": ranks.unwrap(weights or parts.model).state_dict(),  # without DDP's or torch.compile's prefixes
                **({"averages": self.averages.state_dict()} if self.averages else {}),
                "optimizer": parts.optimizer.state_dict(),
                "scheduler": parts.schedule.state_dict() if parts.schedule is not None else None,
                "scaler": parts.scaler.state_dict(),
                "metrics": row,
                "train_state": {**state.to_dict(), "rng": capture_rng()},
                **self.record,
            },
            self.folder / name,
            keep_previous=name == "last.pt",
        )

    def keep_top_k(self, state: TrainState, monitor, value: float, epoch: int, k: int, row: dict) -> None:
        """Keep epoch checkpoints of the k best validations (epoch<N>.pt), deleting the others."""
        state.top_k.append([value, epoch])
        state.top_k.sort(key=lambda item: item[0], reverse=monitor.mode == "max")
        dropped, state.top_k = state.top_k[k:], state.top_k[:k]
        if [value, epoch] in state.top_k:
            self.save(f"epoch{epoch}.pt", state, row)
        for _, old in dropped:
            if ranks.is_main():
                (self.folder / f"epoch{old}.pt").unlink(missing_ok=True)


class Fit:
    """One call of `fit`: what its steps share."""

    def __init__(
        self,
        parts: Parts,
        plan,
        *,
        device,
        monitor,
        task,
        metrics,
        run_dir,
        loggers,
        console,
        record: dict,
        state: TrainState | None = None,
        stop=None,
        pruning=None,
        profiler=None,
    ):
        self.parts, self.plan, self.device = parts, plan, device
        self.monitor, self.task, self.metrics = monitor, task, metrics
        self.loggers, self.console, self.stop, self.pruning = loggers, console, stop, pruning
        self.profiler = profiler or NoProfiler()  # trainer.profiler: dlrun.engine.profiling
        self.resuming = state is not None
        self.state = state or TrainState()
        self.averages = parts.averages or Averages(None, {}, parts.optimizer)
        self.checkpoints = Checkpointer(run_dir, parts, self.averages, record)
        self.autocast = torch.autocast(device.type, dtype=plan.autocast_dtype) if plan.autocast_dtype else nullcontext()
        self.batches = plan.train_batches(len(parts.loaders["train"]))
        self.row: dict = {}
        self.figures: dict = {}  # the last trained epoch's EpochClock figures
        self.hinted = False

    def run(self) -> FitResult:
        state = self.state
        try:
            while state.epoch <= self.plan.epochs:
                epoch = state.epoch
                self.train_epoch(epoch)
                self.end_epoch(epoch)  # moves the state on to the next epoch
                if state.stopped:
                    self.console.say(state.stopped)
                    break
        finally:
            self.profiler.finish(self.console.say)  # what trainer.profiler measured, even of a stopped run
        if self.averages.swa is not None and self.averages.swa_epoch(self.plan.epochs) and not state.stopped:
            self.row = self.finish_swa()
        return FitResult(state, self.row)

    # ---- train an epoch ------------------------------------------------------------
    def train_epoch(self, epoch: int) -> None:
        parts, plan, state, device = self.parts, self.plan, self.state, self.device
        loader = parts.loaders["train"]
        parts.model.train()
        if parts.frozen is not None:
            parts.frozen.hold(epoch, self.console.say)  # frozen BatchNorm layers keep their statistics
        if self.resuming:  # replay this epoch's data order; the batches already trained are skipped below
            loader.generator.set_state(state.data_order)
        else:
            state.data_order = loader.generator.get_state()
        for sampler in (loader.sampler, getattr(loader, "batch_sampler", None)):  # several processes: each
            if hasattr(sampler, "set_epoch"):  # its share, reshuffled per epoch (texts bucketed by length too)
                sampler.set_epoch(epoch)
        total, count, loss_parts = own_loss_sums(state)
        self.loss_sum = RunningMean(device, total, count)
        self.part_sums = {name: RunningMean(device, *sums) for name, sums in loss_parts.items()}
        self.first_bad_step = torch.full((), -1, device=device)  # first step with a non-finite loss, on the device
        self.step_on_device = torch.full((), state.step, device=device)
        self.started, seen = time.perf_counter(), 0
        with self.console.epoch(epoch, plan.epochs, self.batches) as progress:
            data = iter(loader)
            for _ in range(state.batch):
                next(data)
            if self.resuming:  # the generators as they were at the checkpoint (dropout, augmentation)
                restore_rng(state.rng)
                self.resuming = False
            clock = EpochClock(device)  # samples/s, step time, data wait, peak memory: host timers only
            for inputs, targets in clock.batches(data):
                if state.batch >= self.batches:
                    break
                inputs = inputs.to(device, non_blocking=True)  # (B, C, H, W) or (B, F); detection: a list of images
                targets = targets.to(device, non_blocking=True)  # (B,) class ids or (B, K) values; boxes per image
                if parts.mix is not None:  # MixUp / CutMix: targets become (B, classes)
                    inputs, targets = parts.mix(inputs, targets)
                if plan.channels_last and isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
                    inputs = inputs.contiguous(memory_format=torch.channels_last)
                steps = (state.batch + 1) % plan.grad_accum_steps == 0 or state.batch + 1 == self.batches
                # DDP all-reduces the gradients in backward: only on the micro-batch that steps
                with nullcontext() if steps else ranks.no_gradient_sync(parts.model):
                    with self.profiler.phase("forward"), self.autocast:
                        outputs = parts.model(inputs)  # (B, classes) or (B, K); a detector: its losses
                        loss = parts.criterion(outputs, targets)
                    with self.profiler.phase("backward"):
                        parts.scaler.scale(loss / plan.grad_accum_steps).backward()
                state.batch += 1
                seen += len(targets)
                self.loss_sum.update(loss.float(), len(targets))  # summed on the device, no sync
                for name, value in (parts.criterion.parts or {}).items():  # a detector's loss components
                    self.part_sums.setdefault(name, RunningMean(device)).update(value.float(), len(targets))
                self.first_bad_step = torch.where(
                    ~torch.isfinite(loss.detach()) & (self.first_bad_step < 0), self.step_on_device, self.first_bad_step
                )
                logged = self.step(epoch, loss) if steps else False
                progress(state.batch, loss, seen / (time.perf_counter() - self.started), logged)
                if steps:
                    self.checkpoint_or_stop(epoch, logged)
                clock.tick(len(targets))
                self.profiler.step()  # trainer.profiler=torch: its schedule counts training batches
        self.check_finite(epoch)
        self.figures = clock.figures()
        self.profiler.waited(clock.waited, len(clock.times))
        if self.figures["data_wait"] > DATA_WAIT_HINT and not self.hinted:  # said once a run
            self.hinted = True
            self.console.say(data_wait_hint(epoch, self.figures["data_wait"], loader))

    def step(self, epoch: int, loss: torch.Tensor) -> bool:
        """The optimizer step after a step's last micro-batch; True when this step logs."""
        parts, plan, state = self.parts, self.plan, self.state
        with self.profiler.phase("optimizer"):
            if plan.grad_clip is not None:
                parts.scaler.unscale_(parts.optimizer)
                nn.utils.clip_grad_norm_(parts.model.parameters(), plan.grad_clip)
            parts.scaler.step(parts.optimizer)
            parts.scaler.update()
            parts.optimizer.zero_grad(set_to_none=True)
        if parts.schedule is not None and not self.averages.swa_epoch(epoch):
            parts.schedule.after_step()
        state.step += 1
        self.step_on_device += 1
        self.averages.after_step(ranks.unwrap(parts.model), state.step)  # the EMA, every ema.every_n_steps
        logged = state.step % plan.log_every_n_steps == 0
        if logged:
            self.check_finite(epoch)  # host sync, at the logging interval
            self.loggers.log_step(
                {
                    "train/loss_step": ranks.global_mean(loss.detach(), 1),
                    "epoch": epoch,
                    "lr": parts.optimizer.param_groups[0]["lr"],
                },
                state.step,
            )
        return logged

    def checkpoint_or_stop(self, epoch: int, logged: bool) -> None:
        """last.pt every checkpoint_every_n_steps, and on a stop signal, after which training
        ends. Several processes stop together, at a logging step they all reach (a signal
        lands on each at a different moment): a rank stopping alone would leave the others waiting."""
        plan, state = self.plan, self.state
        if ranks.distributed():
            stopping = logged and ranks.any_rank(bool(self.stop), self.device)
        else:
            stopping = bool(self.stop)
        if stopping or (plan.checkpoint_every_n_steps and state.step % plan.checkpoint_every_n_steps == 0):
            self.check_finite(epoch)
            own = [*self.loss_sum.state(), {name: list(sums.state()) for name, sums in self.part_sums.items()}]
            state.loss_ranks = ranks.every_rank(own)  # each rank resumes its own sums: the epoch's mean exact
            state.loss_total = sum(r[0] for r in state.loss_ranks)
            state.loss_count = sum(r[1] for r in state.loss_ranks)
            state.loss_parts = {
                name: [sum(r[2][name][k] for r in state.loss_ranks if name in r[2]) for k in (0, 1)] for name in own[2]
            }
            with self.profiler.phase("checkpoint"):
                self.checkpoints.save("last.pt", state, self.row)
            if stopping:
                raise Interrupted(self.stop.signum or signal.SIGTERM)

    def check_finite(self, epoch: int) -> None:
        """Stop on a non-finite loss (fp16's scaler skips such steps by design, so it is exempt)."""
        bad = int(ranks.global_max(self.first_bad_step).item())  # any rank's bad step stops every rank
        if bad >= 0 and self.plan.precision != "16":
            raise DlrunError(
                f"The training loss became NaN or infinite at epoch {epoch}, optimizer step {bad + 1}. "
                "Try a lower lr, gradient clipping (trainer.grad_clip=1.0) or trainer.precision=32. "
                "The checkpoints from before that step are intact (checkpoints/last.pt)."
            )

    # ---- end an epoch: validate, schedule, record, checkpoint ----------------------
    def end_epoch(self, epoch: int) -> None:
        parts, plan, state, monitor = self.parts, self.plan, self.state, self.monitor
        train_loss = self.loss_sum.compute()
        validated = plan.validates(epoch)
        with self.profiler.phase("validation"):
            val = self.validate() if validated else {}
        lr = parts.optimizer.param_groups[0]["lr"]  # the rate this epoch trained with (epoch schedules)
        self.row = row = {
            "epoch": epoch,
            "train/loss": train_loss,
            **{f"train/{name}": sums.compute() for name, sums in self.part_sums.items()},
            **val,
            "lr": lr,
            "seconds": round(time.perf_counter() - self.started, 3),
            **self.figures,
        }
        if parts.schedule is not None and not self.averages.swa_epoch(epoch):  # from swa.start_epoch, SWALR
            parts.schedule.after_epoch(row.get(monitor.metric) if validated else None)
        self.averages.after_epoch(ranks.unwrap(parts.model), epoch)
        self.loggers.log_epoch(row, state.step)

        improved = validated and monitor.update(state, row, epoch)
        if validated and self.pruning is not None and not state.stopped:  # a search stops unpromising trials
            state.stopped = self.pruning.check(epoch, monitor.metric, row[monitor.metric])
            state.pruned_epoch = epoch if state.stopped else None
        state.epoch, state.batch, state.loss_total, state.loss_count, state.loss_parts = epoch + 1, 0, 0.0, 0, {}
        state.loss_ranks = []
        with self.profiler.phase("checkpoint"):
            self.checkpoints.save("last.pt", state, row)
            if improved:
                self.checkpoints.save("best.pt", state, row, self.averages.evaluated(parts.model))
            if validated and plan.save_top_k > 1:
                self.checkpoints.keep_top_k(state, monitor, row[monitor.metric], epoch, plan.save_top_k, row)
        self.console.epoch_end(row, improved)

    def validate(self) -> dict:
        """Validation metrics of the model (its EMA when trainer.ema.evaluate), under eval() and no_grad."""
        parts = self.parts
        return evaluate(
            self.averages.evaluated(parts.model),
            parts.loaders["val"],
            parts.criterion,
            self.metrics,
            self.device,
            self.task,
            split="val",
            batches=self.plan.val_batches(len(parts.loaders["val"])),
            autocast=self.autocast,
        )

    def finish_swa(self) -> dict:
        """The SWA model, its BatchNorm statistics recomputed (update_bn), validated and kept as
        best.pt: the run's result (summary.json's best is its validation)."""
        state, loaders = self.state, self.parts.loaders
        swa_model = self.averages.finish_swa(loaders["train"], self.device)
        val = evaluate(
            swa_model, loaders["val"], self.parts.criterion, self.metrics, self.device, self.task, split="val"
        )
        state.best_epoch = state.epoch - 1
        state.best_metrics = {"epoch": state.best_epoch, **val}
        state.best_value = val.get(self.monitor.metric, state.best_value)
        self.console.say(
            "stochastic weight averaging: the averaged model validates at "
            + ", ".join(f"{k} {v:.4g}" for k, v in val.items())
        )
        self.checkpoints.save("best.pt", state, self.row, swa_model)
        return {"epoch": state.best_epoch, **val}


def fit(parts: Parts, plan, **context) -> FitResult:
    """Train by `plan` (engine.plan.TrainPlan). `context`, by keyword: `device`, `monitor`, `task`,
    `metrics` (the run's TaskMetrics on `device`, for validation), `run_dir`, `loggers`, `console`,
    `record` (plain data stored in every checkpoint: config, data description, W&B id), `state`
    (where to resume, or None), `stop` (a StopFlag: signals), `pruning` (a search trial's
    pruner, dlrun.search.trial.TrialPruning, asked after each validation, or None) and
    `profiler` (trainer.profiler's, dlrun.engine.profiling, or None)."""
    return Fit(parts, plan, **context).run()


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader,
    criterion: nn.Module,
    metrics,
    device: torch.device,
    task: str,
    split: str,
    batches: int | None = None,
    autocast=None,
) -> dict[str, float]:
    """Mean loss and task metrics over `loader`, under model.eval() and torch.no_grad() (no loss
    where the model computes none in evaluation: torchvision's detectors).

    Under DDP each process evaluates its own share of the split (no sample twice: the
    evaluation loaders do not pad) with rank 0's BatchNorm statistics, outside DDP's
    wrapper (shares may differ by a batch), and the sums meet once, at the end."""
    model = ranks.for_evaluation(model)
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
        if loss is not None:
            mean_loss.update(loss.float(), len(targets))
        metrics.update(*prepare(outputs, targets, task))
    values = {f"{split}/loss": mean_loss.compute()} if tasks.get(task).evaluation_loss else {}
    scalars = {name: v for name, v in metrics.compute().items() if isinstance(v, torch.Tensor) and v.numel() == 1}
    values.update({f"{split}/{name}": value.item() for name, value in scalars.items()})
    return values
