"""torchmetrics' metrics by catalogue name, and the user's own, behind one small interface:
update(outputs, targets) per batch with the model's logits (or values) and the dataset's
targets, compute() -> a 0-dim tensor over every process. Imported only when a run chooses
a metric beyond the defaults (torchmetrics costs ~2 s at start-up).

Classification with two classes is binary: the probability of the positive class (the
second class, index 1) is scored, as scikit-learn's roc_auc_score and precision_score do.
"""

import inspect
import warnings

import torch
import torchmetrics
from torchmetrics import classification as tmc
from torchmetrics import regression as tmr
from torchmetrics.utilities import dim_zero_cat

from dlrun.config.imports import call, import_object
from dlrun.errors import DlrunError, first_line
from dlrun.metrics.catalogue import CLASSIFICATION, MULTILABEL, MetricEntry

BINS = 15  # calibration error
# dlrun's evaluation splits are what such metrics are for; the warning would print in every run
warnings.filterwarnings("ignore", message=r"Metric `SpearmanCorrcoef` will save all targets")


def library_metric(name: str, task: str, num_outputs: int) -> "Adapted":
    if task == CLASSIFICATION:
        binary, c = num_outputs == 2, num_outputs
        made = {
            "auroc": lambda: tmc.BinaryAUROC() if binary else tmc.MulticlassAUROC(c, average="macro"),
            "average_precision": lambda: (
                tmc.BinaryAveragePrecision() if binary else tmc.MulticlassAveragePrecision(c, average="macro")
            ),
            "precision": lambda: tmc.BinaryPrecision() if binary else tmc.MulticlassPrecision(c, average="macro"),
            "recall": lambda: tmc.BinaryRecall() if binary else tmc.MulticlassRecall(c, average="macro"),
            "specificity": lambda: tmc.BinarySpecificity() if binary else tmc.MulticlassSpecificity(c, average="macro"),
            "mcc": lambda: tmc.BinaryMatthewsCorrCoef() if binary else tmc.MulticlassMatthewsCorrCoef(c),
            "cohen_kappa": lambda: tmc.BinaryCohenKappa() if binary else tmc.MulticlassCohenKappa(c),
            "calibration_error": lambda: (
                tmc.BinaryCalibrationError(n_bins=BINS) if binary else tmc.MulticlassCalibrationError(c, n_bins=BINS)
            ),
        }[name]()
        return Adapted(made, probabilities if not binary else positive_probability)
    if task == MULTILABEL:  # sigmoid probabilities, multi-hot targets as integers
        made = {"auroc": lambda: tmc.MultilabelAUROC(num_outputs, average="macro")}[name]()
        return Adapted(made, sigmoid, targets=lambda targets: targets.round().long())
    made = {
        "mape": lambda: tmr.MeanAbsolutePercentageError(),
        "explained_variance": lambda: tmr.ExplainedVariance(multioutput="uniform_average"),
        "pearson": lambda: tmr.PearsonCorrCoef(num_outputs=num_outputs),
        "spearman": lambda: tmr.SpearmanCorrCoef(num_outputs=num_outputs),
    }[name]()
    return Adapted(made, None)


def probabilities(outputs: torch.Tensor) -> torch.Tensor:
    return outputs.float().softmax(-1)


def sigmoid(outputs: torch.Tensor) -> torch.Tensor:
    return outputs.float().sigmoid()


def positive_probability(outputs: torch.Tensor) -> torch.Tensor:
    return outputs.float().softmax(-1)[:, 1]


class Adapted:
    """A torchmetrics Metric fed with transformed outputs; its value averaged to one number."""

    def __init__(
        self, metric: torchmetrics.Metric, transform=None, label: str | None = None, higher=None, targets=None
    ):
        self.metric, self.transform, self.label = metric, transform, label  # label: a user metric's entry
        self.targets = targets  # what the metric takes of the dataset's targets, when not them as they are
        self.higher = higher if higher is not None else getattr(metric, "higher_is_better", None)

    def to(self, device) -> "Adapted":
        self.metric = self.metric.to(device)
        return self

    def reset(self) -> None:
        self.metric.reset()

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.metric.update(
            self.transform(outputs) if self.transform else outputs, self.targets(targets) if self.targets else targets
        )

    def compute(self) -> torch.Tensor:
        try:
            value = torch.as_tensor(self.metric.compute())
        except Exception as err:
            if self.label is None:
                raise
            raise DlrunError(
                f"{self.label} failed: {type(err).__name__}: {first_line(err)}. A metric function is "
                "called with all outputs and targets of the split and returns one number."
            ) from err
        return value.float().mean() if value.numel() > 1 else value.reshape(())

    @property
    def higher_is_better(self):
        return self.higher


class FunctionMetric(torchmetrics.Metric):
    """A function of (all outputs, all targets) of the split, gathered from every process."""

    full_state_update = False

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.add_state("outputs", default=[], dist_reduce_fx="cat")
        self.add_state("targets", default=[], dist_reduce_fx="cat")

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.outputs.append(outputs.detach())
        self.targets.append(targets.detach())

    def compute(self) -> torch.Tensor:
        value = self.fn(dim_zero_cat(self.outputs), dim_zero_cat(self.targets))
        return torch.as_tensor(value).detach().cpu().double()


def user_metric(entry: MetricEntry, num_outputs: int) -> Adapted:
    """`entry.class_path`: a torchmetrics.Metric class (built with its kwargs; num_classes /
    num_outputs given when it asks) or a function (outputs, targets) -> number."""
    key = f"trainer.metrics: {entry.name}"
    target = import_object(entry.class_path, key)
    if inspect.isclass(target):
        if not issubclass(target, torchmetrics.Metric):
            raise DlrunError(
                f"{key} ({entry.class_path}) is a class but not a torchmetrics.Metric: a metric of your "
                "own is a torchmetrics.Metric subclass or a function (outputs, targets) -> number."
            )
        params = inspect.signature(target).parameters
        offered = {k: num_outputs for k in ("num_classes", "num_outputs") if k in params and k not in entry.kwargs}
        metric = call(target, (), {**entry.kwargs, **offered}, f"{key} ({entry.class_path})")
    elif callable(target):
        if entry.kwargs:
            raise DlrunError(f"{key}: kwargs are for a torchmetrics.Metric class; {entry.class_path} is a function.")
        metric = FunctionMetric(target)
    else:
        raise DlrunError(f"{key}: {entry.class_path} is a {type(target).__name__}, not a metric.")
    return Adapted(metric, label=f"{key} ({entry.class_path})", higher=getattr(target, "higher_is_better", None))


def build(entry: MetricEntry, task: str, num_outputs: int) -> Adapted:
    return user_metric(entry, num_outputs) if entry.source == "user" else library_metric(entry.name, task, num_outputs)
