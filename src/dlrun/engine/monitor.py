"""The monitored metric: which epoch is best (best.pt, top-k) and when to stop early."""

from dlrun import tasks
from dlrun.engine.state import TrainState
from dlrun.errors import DlrunError
from dlrun.metrics.catalogue import not_a_metric


class Monitor:
    """`val/acc` (max) or `val/loss` (min) by default; its running values live in a TrainState.
    `higher_is_better`: the run's metrics (TaskMetrics.higher_is_better()), name -> bool or None."""

    def __init__(
        self,
        metric: str,
        mode: str,
        task: str,
        higher_is_better: dict,
        patience: int | None = None,
        min_delta: float = 0.0,
    ):
        if metric == "auto":
            metric = tasks.get(task).default_monitor(list(higher_is_better))
        valid = ["val/loss", *(f"val/{name}" for name in higher_is_better), "train/loss"]
        if metric not in valid:
            raise DlrunError(not_a_metric(metric, task, valid))
        if mode == "auto":
            better = higher_is_better.get(metric.split("/")[1], False)  # losses: lower is better
            if better is None:
                raise DlrunError(
                    f"trainer.monitor={metric}: your metric does not say whether higher is better: set "
                    "trainer.mode=max or min (or higher_is_better in its trainer.metrics entry)."
                )
            mode = "max" if better else "min"
        self.metric, self.mode, self.patience, self.min_delta = metric, mode, patience, abs(min_delta)

    def better(self, value: float, than: float | None, by: float = 0.0) -> bool:
        if than is None:
            return value == value  # NaN is never better
        return value > than + by if self.mode == "max" else value < than - by

    def ties_with_lower_loss(self, row: dict, state: TrainState) -> bool:
        """Accuracy on a small validation set ties often; a tie with a lower validation loss
        is the better model (the later, better-converged epoch rather than the first)."""
        loss = row.get("val/loss")
        return (
            self.metric != "val/loss"
            and row[self.metric] == state.best_value
            and loss is not None
            and loss < state.best_metrics.get("val/loss", float("inf"))
        )

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
            state.stopped = (
                f"early stopping: {self.metric} has not improved by more than {self.min_delta:g} for "
                f"{state.stale} validations (best {state.best_value:.4g} at epoch {state.best_epoch})"
            )
        return improved
