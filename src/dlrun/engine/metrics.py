"""Evaluation metrics per task, from torchmetrics; names follow `split/name`."""

import torch
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score
from torchmetrics.classification import MulticlassAccuracy

from dlrun.datasets.info import CLASSIFICATION, REGRESSION
from dlrun.errors import DlrunError

MAXIMISED = {"acc", "r2"}


def make_metrics(task: str, num_outputs: int) -> MetricCollection:
    if task == CLASSIFICATION:
        return MetricCollection({"acc": MulticlassAccuracy(num_classes=num_outputs, average="micro")})
    return MetricCollection({
        "mse": MeanSquaredError(),
        "mae": MeanAbsoluteError(),
        "r2": R2Score(multioutput="uniform_average"),
    })


def metric_names(task: str, split: str = "val") -> list[str]:
    names = ["loss", "acc"] if task == CLASSIFICATION else ["loss", "mae", "mse", "r2"]
    return [f"{split}/{n}" for n in names]


def prepare(outputs: torch.Tensor, targets: torch.Tensor, task: str):
    """Shapes torchmetrics wants: logits and class indices, or 1-D values for one output."""
    if task == REGRESSION and outputs.shape[-1] == 1:
        return outputs.squeeze(-1), targets.squeeze(-1)
    return outputs, targets


class RunningMean:
    """Sample-weighted mean of per-batch losses, accumulated on the device.

    Not torchmetrics.MeanMetric: its NaN check calls `.any()` (a host sync) on
    every update, and with nan_strategy="disable" it ignores the weights.
    """

    def __init__(self, device: torch.device):
        self.total = torch.zeros((), dtype=torch.float32, device=device)  # float32: MPS has no float64
        self.count = 0

    def update(self, batch_mean: torch.Tensor, batch_size: int) -> None:
        self.total += batch_mean.detach() * batch_size
        self.count += batch_size

    def compute(self) -> float:
        return (self.total / max(self.count, 1)).item()


class Monitor:
    """Tracks the metric that picks best.pt: `val/acc` (max) or `val/loss` (min) by default."""

    def __init__(self, metric: str, mode: str, task: str):
        if metric == "auto":
            metric = "val/acc" if task == CLASSIFICATION else "val/loss"
        valid = metric_names(task, "val") + ["train/loss"]
        if metric not in valid:
            raise DlrunError(f"trainer.monitor={metric!r} is not a metric of this {task} run: use one of {', '.join(valid)}.")
        if mode == "auto":
            mode = "max" if metric.split("/")[1] in MAXIMISED else "min"
        self.metric, self.mode = metric, mode
        self.best_value: float | None = None
        self.best_epoch: int | None = None

    def update(self, value: float, epoch: int) -> bool:
        """Record `value`; True when it is the best so far."""
        better = self.best_value is None or (value > self.best_value if self.mode == "max" else value < self.best_value)
        if better:
            self.best_value, self.best_epoch = value, epoch
        return better
