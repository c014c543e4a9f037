"""The monitored metric: which epoch is best (best.pt, top-k) and when to stop early."""

from dlrun.datasets.info import CLASSIFICATION
from dlrun.engine.metrics import MAXIMISED, metric_names
from dlrun.engine.state import TrainState
from dlrun.errors import DlrunError


class Monitor:
    """`val/acc` (max) or `val/loss` (min) by default; its running values live in a TrainState."""

    def __init__(self, metric: str, mode: str, task: str, num_outputs: int, patience: int | None = None,
                 min_delta: float = 0.0):
        if metric == "auto":
            metric = "val/acc" if task == CLASSIFICATION else "val/loss"
        valid = metric_names(task, num_outputs, "val") + ["train/loss"]
        if metric not in valid:
            raise DlrunError(f"trainer.monitor={metric!r} is not a metric of this {task} run: use one of {', '.join(valid)}.")
        if mode == "auto":
            mode = "max" if metric.split("/")[1] in MAXIMISED else "min"
        if mode not in ("min", "max"):
            raise DlrunError(f"trainer.mode={mode!r} is not valid: use min, max or auto.")
        self.metric, self.mode, self.patience, self.min_delta = metric, mode, patience, abs(min_delta)

    def better(self, value: float, than: float | None, by: float = 0.0) -> bool:
        if than is None:
            return value == value  # NaN is never better
        return value > than + by if self.mode == "max" else value < than - by

    def ties_with_lower_loss(self, row: dict, state: TrainState) -> bool:
        """Accuracy on a small validation set ties often; a tie with a lower validation loss
        is the better model (the later, better-converged epoch rather than the first)."""
        loss = row.get("val/loss")
        return (self.metric != "val/loss" and row[self.metric] == state.best_value and loss is not None
                and loss < state.best_metrics.get("val/loss", float("inf")))

    def update(self, state: TrainState, row: dict, epoch: int) -> bool:
        """Record this validation in `state`; True when it is the best so far."""
        value = row[self.metric]
        improved = self.better(value, state.best_value) or self.ties_with_lower_loss(row, state)
        if improved:
            state.best_value, state.best_epoch, state.best_metrics = value, epoch, dict(row)
        if self.better(value, state.stale_reference, self.min_delta):
            state.stale, state.stale_reference = 0, value
        else:
            state.stale += 1
        if self.patience is not None and state.stale >= self.patience:
            state.stopped = (f"early stopping: {self.metric} has not improved by more than {self.min_delta:g} for "
                             f"{state.stale} validations (best {state.best_value:.4g} at epoch {state.best_epoch})")
        return improved
