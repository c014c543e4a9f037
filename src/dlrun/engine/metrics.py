"""Evaluation metrics per task, from torchmetrics; names follow `split/name`."""

import torch
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

from dlrun.datasets.info import CLASSIFICATION, REGRESSION
from dlrun.distributed.ranks import global_mean
from dlrun.errors import DlrunError

MAXIMISED = {"acc", "top5", "f1", "r2"}


def make_metrics(task: str, num_outputs: int, confusion: bool = False) -> MetricCollection:
    """Classification: accuracy, top-5 accuracy (more than 5 classes), macro F1 and, on
    request, the confusion matrix. Regression: MAE, MSE, RMSE, R2."""
    if task == CLASSIFICATION:
        metrics = {"acc": MulticlassAccuracy(num_classes=num_outputs, average="micro"),
                   "f1": MulticlassF1Score(num_classes=num_outputs, average="macro")}
        if num_outputs > 5:
            metrics["top5"] = MulticlassAccuracy(num_classes=num_outputs, top_k=5, average="micro")
        if confusion:
            metrics["confusion"] = MulticlassConfusionMatrix(num_classes=num_outputs)
        # compute_groups=False: torchmetrics would otherwise merge metrics whose states happen to
        # match after the first batch (top-1 and top-5 accuracy on an all-correct batch) for good
        return MetricCollection(metrics, compute_groups=False)
    return MetricCollection({
        "mae": MeanAbsoluteError(),
        "mse": MeanSquaredError(),
        "rmse": MeanSquaredError(squared=False),
        "r2": R2Score(multioutput="uniform_average"),
    }, compute_groups=False)


def metric_names(task: str, num_outputs: int, split: str = "val") -> list[str]:
    """The scalar columns `evaluate` returns, in its order (torchmetrics sorts by name)."""
    names = sorted(n for n in make_metrics(task, num_outputs) if n != "confusion")
    return [f"{split}/{n}" for n in ["loss", *names]]


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
        """The mean over every process of a distributed run (this one's alone otherwise)."""
        return global_mean(self.total, self.count)
