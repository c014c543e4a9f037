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

    def __init__(self, device: torch.device, total: float = 0.0, count: int = 0):
        self.total = torch.full((), total, dtype=torch.float32, device=device)  # float32: MPS has no float64
        self.count = count

    def state(self) -> tuple[float, int]:
        """(sum, count) as plain numbers, for a mid-epoch checkpoint."""
        return self.total.item(), self.count

    def update(self, batch_mean: torch.Tensor, batch_size: int) -> None:
        self.total += batch_mean.detach() * batch_size
        self.count += batch_size

    def compute(self) -> float:
        return (self.total / max(self.count, 1)).item()
