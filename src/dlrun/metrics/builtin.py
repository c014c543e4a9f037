"""Evaluation metrics per task, from sums kept on the device; names follow `split/name`.
The metrics a run chooses beyond these (`trainer.metrics`) come from dlrun.metrics.

Written here rather than taken from torchmetrics: `import torchmetrics` costs 2.3 s per
process (it imports torchvision.models, torch._dynamo and scipy.signal for its image
metrics), more than torch itself, in every run and every trial of a sweep, for six
numbers that are sums. The sums (a confusion matrix, top-5 hits; absolute and squared
errors and the targets' moments) reduce exactly across DDP ranks, and the values are
tested against scikit-learn's.
"""

import torch

from dlrun import tasks
from dlrun.distributed.ranks import global_mean, global_sum
from dlrun.metrics.catalogue import TOP_K, resolve


def metric_keys(task: str, num_outputs: int, selection=None) -> list[str]:
    """The scalar metrics of a task: `selection` (trainer.metrics) or the defaults."""
    return [entry.name for entry in resolve(selection, task, num_outputs)]


def make_metrics(task: str, num_outputs: int, confusion: bool = False, selection=None) -> "TaskMetrics":
    """By default, classification: accuracy, top-5 accuracy (more than 5 classes), macro F1;
    regression: MAE, MSE, RMSE, R2 (averaged over outputs). `selection`: trainer.metrics.
    `confusion`: also the confusion matrix (classification)."""
    tasks.get(task)  # a task dlrun knows
    return TaskMetrics(task, num_outputs, confusion, selection=selection)


def metric_names(task: str, num_outputs: int, split: str = "val", selection=None) -> list[str]:
    """The scalar columns `evaluate` returns, in its order."""
    return [f"{split}/{n}" for n in ["loss", *metric_keys(task, num_outputs, selection)]]


class TaskMetrics:
    """update(outputs, targets) per batch, compute() -> {name: tensor} over every rank."""

    def __init__(self, task: str, num_outputs: int, confusion: bool = False, device=None, selection=None):
        self.task, self.num_outputs, self.confusion = task, num_outputs, confusion
        self.entries = resolve(selection, task, num_outputs)
        self.device = torch.device(device or "cpu")
        self.extra = {}
        if any(entry.source != "builtin" for entry in self.entries):
            from dlrun.metrics import library  # torchmetrics: imported only when a run chooses such a metric

            self.extra = {e.name: library.build(e, task, num_outputs) for e in self.entries if e.source != "builtin"}
        self.reset()

    def __iter__(self):
        return iter([entry.name for entry in self.entries] + (["confusion"] if self.confusion else []))

    def higher_is_better(self) -> dict:
        """name -> True/False, or None where a user's metric does not say."""
        return {
            e.name: e.higher_is_better
            if e.higher_is_better is not None or e.name not in self.extra
            else self.extra[e.name].higher_is_better
            for e in self.entries
        }

    def to(self, device) -> "TaskMetrics":
        self.device = torch.device(device)
        self.extra = {name: metric.to(device) for name, metric in self.extra.items()}
        self.reset()
        return self

    def reset(self) -> None:
        self.sums = SUMS[tasks.get(self.task).sums](self.num_outputs, self.device, self.confusion)
        for metric in self.extra.values():
            metric.reset()

    @torch.no_grad()
    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        for metric in self.extra.values():
            metric.update(outputs, targets)
        self.sums.update(outputs, targets)

    @torch.no_grad()
    def compute(self) -> dict[str, torch.Tensor]:
        """The chosen metrics, in their order (and the confusion matrix when asked)."""
        values = self.sums.values()
        chosen = {
            e.name: self.extra[e.name].compute() if e.name in self.extra else values[e.name] for e in self.entries
        }
        return {**chosen, **({"confusion": values["confusion"]} if self.confusion else {})}


class ClassCounts:
    """Classification: a confusion matrix (true x predicted) and top-5 hits -> acc, f1, top5."""

    def __init__(self, classes: int, device: torch.device, confusion: bool = False):
        self.classes, self.confusion = classes, confusion
        self.matrix = torch.zeros(classes * classes, dtype=torch.int64, device=device)
        self.top_hits = torch.zeros((), dtype=torch.int64, device=device)

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        classes, targets = self.classes, targets.long()
        self.matrix += torch.bincount(targets * classes + outputs.argmax(-1), minlength=classes * classes)
        if classes > TOP_K:
            self.top_hits += (outputs.topk(TOP_K, dim=-1).indices == targets[:, None]).any(-1).sum()

    def values(self) -> dict[str, torch.Tensor]:
        """Over every process of a distributed run (the counts are summed exactly)."""
        matrix, top_hits = global_sum(self.matrix).view(self.classes, self.classes), global_sum(self.top_hits)
        total = matrix.sum().clamp(min=1)
        hits = matrix.diagonal()
        missed, wrong = matrix.sum(1) - hits, matrix.sum(0) - hits  # false negatives, false positives
        seen = (hits + missed + wrong) > 0  # classes in the targets or predictions
        f1 = (2 * hits).double() / (2 * hits + missed + wrong).clamp(min=1).double()
        values = {"acc": hits.sum() / total, "f1": f1[seen].mean() if seen.any() else f1.new_zeros(())}
        if self.classes > TOP_K:
            values["top5"] = top_hits / total
        if self.confusion:
            values["confusion"] = matrix
        return values


class ValueSums:
    """Regression, per output: count, sum |e|, sum e^2, sum y, sum y^2 -> mae, mse, r2, rmse."""

    def __init__(self, outputs: int, device: torch.device, confusion: bool = False):
        real = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
        self.sums = torch.zeros(5, outputs, dtype=real, device=device)

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        outputs = outputs.reshape(len(outputs), -1).to(self.sums.dtype)
        targets = targets.reshape(len(targets), -1).to(self.sums.dtype)
        errors = outputs - targets
        self.sums += torch.stack(
            [
                torch.full_like(targets[0], len(targets)),
                errors.abs().sum(0),
                errors.square().sum(0),
                targets.sum(0),
                targets.square().sum(0),
            ]
        )

    def values(self) -> dict[str, torch.Tensor]:
        count, abs_err, sq_err, total, total_sq = global_sum(self.sums)
        n = count.sum().clamp(min=1)
        mse = sq_err.sum() / n
        spread = total_sq - total.square() / count.clamp(min=1)  # sum of (y - mean y)^2, per output
        r2 = torch.where(
            spread > 0, 1 - sq_err / spread.clamp(min=torch.finfo(spread.dtype).tiny), (sq_err == 0).to(spread.dtype)
        )  # a constant target: 1 if exact, else 0
        return {"mae": abs_err.sum() / n, "mse": mse, "r2": r2.mean(), "rmse": mse.sqrt()}


SUMS = {"class_counts": ClassCounts, "value_sums": ValueSums}  # a task's `sums`: what computes its builtin metrics


def prepare(outputs: torch.Tensor, targets: torch.Tensor, task: str):
    """Logits and class indices, or 1-D values for one output."""
    if tasks.get(task).squeeze_one_output and outputs.shape[-1] == 1:
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
