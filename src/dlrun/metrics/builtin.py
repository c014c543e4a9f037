"""Evaluation metrics per task, from sums kept on the device; names follow `split/name`.
The metrics a run chooses beyond these (`trainer.metrics`) come from dlrun.metrics.

Written here rather than taken from torchmetrics: `import torchmetrics` costs 2.3 s per
process (it imports torchvision.models, torch._dynamo and scipy.signal for its image
metrics), more than torch itself, in every run and every trial of a sweep, for six
numbers that are sums. The sums (a confusion matrix, top-5 hits; absolute and squared
errors and the targets' moments) reduce exactly across DDP ranks, and the values are
tested against scikit-learn's. Multi-label average precision needs every score, not sums:
its rows are gathered from every rank, once per evaluation.
"""

import torch

from dlrun import tasks
from dlrun.distributed.ranks import global_cat, global_mean, global_sum
from dlrun.metrics.catalogue import TOP_K, resolve


def metric_keys(task: str, num_outputs: int, selection=None) -> list[str]:
    """The scalar metrics of a task: `selection` (trainer.metrics) or the defaults."""
    return [entry.name for entry in resolve(selection, task, num_outputs)]


def make_metrics(task: str, num_outputs: int, details: bool = False, selection=None, thresholds=None) -> "TaskMetrics":
    """By default, classification: accuracy, top-5 accuracy (from 20 classes), macro F1;
    regression: MAE, MSE, RMSE, R2 (averaged over outputs); multi-label: F1 (macro, micro),
    mAP, subset accuracy, Hamming loss. `selection`: trainer.metrics. `details`: also what
    `dlrun eval` shows of the task (a confusion matrix; a table per label). `thresholds`:
    multi-label decision thresholds (one number, or one per label; 0.5 when None)."""
    tasks.get(task)  # a task dlrun knows
    return TaskMetrics(task, num_outputs, details, selection=selection, thresholds=thresholds)


def metric_names(task: str, num_outputs: int, split: str = "val", selection=None) -> list[str]:
    """The scalar columns `evaluate` returns, in its order."""
    loss = ["loss"] if tasks.get(task).evaluation_loss else []
    return [f"{split}/{n}" for n in [*loss, *metric_keys(task, num_outputs, selection)]]


class TaskMetrics:
    """update(outputs, targets) per batch, compute() -> {name: tensor} over every rank."""

    def __init__(
        self, task: str, num_outputs: int, details: bool = False, device=None, selection=None, thresholds=None
    ):
        self.task, self.num_outputs, self.details = task, num_outputs, details
        self.options = {"thresholds": thresholds} if thresholds is not None else {}  # to the task's sums
        self.entries = resolve(selection, task, num_outputs)
        self.device = torch.device(device or "cpu")
        self.extra = {}
        if any(entry.source != "builtin" for entry in self.entries):
            from dlrun.metrics import library  # torchmetrics: imported only when a run chooses such a metric

            self.extra = {e.name: library.build(e, task, num_outputs) for e in self.entries if e.source != "builtin"}
        self.reset()

    def __iter__(self):
        detail = tasks.get(self.task).details
        return iter([entry.name for entry in self.entries] + ([detail] if self.details and detail else []))

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

    def decide_with(self, thresholds) -> None:
        """Multi-label: compute with these thresholds from now on (task.thresholds=tune), the rows
        already kept included: compute() scores them again without another pass over the data."""
        self.options["thresholds"] = thresholds
        self.sums.decide_with(thresholds)

    def reset(self) -> None:
        self.sums = SUMS[tasks.get(self.task).sums](self.num_outputs, self.device, self.details, **self.options)
        for metric in self.extra.values():
            metric.reset()

    @torch.no_grad()
    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        for metric in self.extra.values():
            metric.update(outputs, targets)
        self.sums.update(outputs, targets)

    @torch.no_grad()
    def compute(self) -> dict[str, torch.Tensor]:
        """The chosen metrics, in their order (and the task's details when asked)."""
        values = self.sums.values()
        chosen = {
            e.name: self.extra[e.name].compute() if e.name in self.extra else values[e.name] for e in self.entries
        }
        detail = tasks.get(self.task).details
        return {**chosen, **({detail: values[detail]} if self.details and detail else {})}


class ClassCounts:
    """Classification: a confusion matrix (true x predicted) and top-5 hits -> acc, f1, top5."""

    def __init__(self, classes: int, device: torch.device, details: bool = False):
        self.classes, self.confusion = classes, details
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

    def __init__(self, outputs: int, device: torch.device, details: bool = False):
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


class LabelScores:
    """Multi-label: every sample's label probabilities and targets -> f1_macro, f1_micro, map,
    subset_acc, hamming at the run's thresholds (and per label, for `dlrun eval`). Average
    precision needs every score of the split, not sums: the rows are kept (a float and a bool
    per sample and label) and gathered from every process once, when the values are asked."""

    def __init__(self, labels: int, device: torch.device, details: bool = False, thresholds=None):
        self.labels, self.per_label, self.device = labels, details, device
        self.decide_with(thresholds)
        self.scores, self.targets = [], []

    def decide_with(self, thresholds) -> None:
        """One threshold for every label, or one each (0.5 when None)."""
        limits = torch.as_tensor(0.5 if thresholds is None else thresholds, dtype=torch.float32)
        self.thresholds = limits.expand(self.labels).to(self.device)

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.scores.append(outputs.float().sigmoid())
        self.targets.append(targets >= 0.5)

    def gathered(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores, targets) of the whole split, every process's rows."""
        scores = torch.cat(self.scores) if self.scores else torch.zeros(0, self.labels, device=self.device)
        targets = torch.cat(self.targets) if self.targets else scores.bool()
        return global_cat(scores), global_cat(targets)

    def values(self) -> dict[str, torch.Tensor]:
        scores, targets = self.gathered()
        predicted = scores >= self.thresholds
        hits = (predicted & targets).sum(0).double()
        wrong, missed = (predicted & ~targets).sum(0).double(), (~predicted & targets).sum(0).double()
        f1 = 2 * hits / (2 * hits + wrong + missed).clamp(min=1)
        seen = (hits + wrong + missed) > 0  # labels in the targets or the predictions
        ap = average_precision(scores, targets)
        positive = targets.any(0)
        values = {
            "f1_macro": f1[seen].mean() if seen.any() else f1.new_zeros(()),
            "f1_micro": 2 * hits.sum() / (2 * hits.sum() + wrong.sum() + missed.sum()).clamp(min=1),
            "map": ap[positive].mean() if positive.any() else ap.new_zeros(()),
            "subset_acc": (predicted == targets).all(1).double().mean() if len(targets) else f1.new_zeros(()),
            "hamming": (predicted != targets).double().mean() if len(targets) else f1.new_zeros(()),
        }
        if self.per_label:
            values["per_label"] = {
                "ap": ap,
                "f1": f1,
                "precision": hits / (hits + wrong).clamp(min=1),
                "recall": hits / (hits + missed).clamp(min=1),
                "threshold": self.thresholds,
                "support": targets.sum(0),
            }
        return values


def average_precision(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per label (columns), the area under the precision-recall curve as scikit-learn's
    average_precision_score computes it: sum over distinct scores of (R_n - R_n-1) P_n, tied
    scores taken together. 0 for a label without positives."""
    ap = torch.zeros(scores.shape[1], dtype=torch.float64, device=scores.device)
    for label in range(scores.shape[1]):
        order = scores[:, label].argsort(descending=True, stable=True)
        ranked, positive = scores[order, label], targets[order, label].double()
        if not len(ranked) or positive.sum() == 0:
            continue
        last = torch.ones_like(ranked, dtype=torch.bool)  # the last row of each run of equal scores
        last[:-1] = ranked[1:] != ranked[:-1]
        true_pos = positive.cumsum(0)[last]
        seen = (torch.arange(1, len(ranked) + 1, device=scores.device, dtype=torch.float64))[last]
        recall = true_pos / true_pos[-1]
        gained = torch.diff(recall, prepend=recall.new_zeros(1))
        ap[label] = (gained * true_pos / seen).sum()
    return ap


class PixelCounts:
    """Segmentation: a confusion matrix over pixels (true x predicted; ignored pixels, target
    < 0, left out) -> miou, pixel_acc, dice, and per class for `dlrun eval`. Counts: exact
    across DDP ranks."""

    def __init__(self, classes: int, device: torch.device, details: bool = False):
        self.classes, self.per_class = classes, details
        self.matrix = torch.zeros(classes * classes, dtype=torch.int64, device=device)

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        predicted, targets = outputs.argmax(1).flatten(), targets.flatten().long()
        kept = targets >= 0
        self.matrix += torch.bincount(
            targets[kept] * self.classes + predicted[kept], minlength=self.classes * self.classes
        )

    def values(self) -> dict[str, torch.Tensor]:
        matrix = global_sum(self.matrix).view(self.classes, self.classes)
        hits = matrix.diagonal()
        missed, wrong = matrix.sum(1) - hits, matrix.sum(0) - hits
        union = hits + missed + wrong
        seen = union > 0  # classes in the targets or the predictions
        iou = hits.double() / union.clamp(min=1).double()
        dice = (2 * hits).double() / (2 * hits + missed + wrong).clamp(min=1).double()
        zero = iou.new_zeros(())
        values = {
            "miou": iou[seen].mean() if seen.any() else zero,
            "pixel_acc": hits.sum().double() / matrix.sum().clamp(min=1).double(),
            "dice": dice[seen].mean() if seen.any() else zero,
        }
        if self.per_class:
            values["per_class"] = {"iou": iou, "dice": dice, "pixels": matrix.sum(1), "predicted": matrix.sum(0)}
        return values


def box_scores(classes: int, device: torch.device, details: bool = False):
    """Detection: COCO mAP by pycocotools' COCOeval (dlrun.metrics.boxes, imported when scored)."""
    from dlrun.metrics.boxes import BoxScores

    return BoxScores(classes, device, details)


SUMS = {
    "class_counts": ClassCounts,
    "value_sums": ValueSums,
    "label_scores": LabelScores,
    "pixel_counts": PixelCounts,
    "box_scores": box_scores,
}  # a task's `sums`: what computes its builtin metrics


def prepare(outputs, targets, task: str):
    """Float logits and class indices, 1-D values for one output, or detections as they are."""
    if not isinstance(outputs, torch.Tensor):
        return outputs, targets  # a detector's list of {"boxes", "labels", "scores"} per image
    outputs = outputs.float()
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
