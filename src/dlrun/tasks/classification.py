"""One class per sample: logits (batch, classes), targets class indices (batch,)."""

from dlrun.errors import plural
from dlrun.tasks.base import Task

TOP_K_DEFAULT_FROM = 20  # top-5 accuracy is a default metric from 20 classes: with fewer it is ~1 and tells little


class Classification(Task):
    name = "classification"
    sums = "class_counts"  # dlrun.metrics.builtin.SUMS: what computes its builtin metrics
    losses = "cross_entropy"  # what messages suggest
    default_loss = "cross_entropy"
    takes_class_indices = True
    mixes_labels = True
    details = "confusion"
    outputs_meaning = "logits (apply softmax for probabilities)"
    builtin_metrics = {
        "acc": (True, "accuracy"),
        "f1": (True, "macro F1 over classes"),
        "top5": (True, "top-5 accuracy (more than 5 classes; a default from 20)"),
    }
    library_metrics = {
        "auroc": (True, "area under the ROC curve (binary: of the positive class; else macro one-vs-rest)"),
        "average_precision": (True, "area under the precision-recall curve (binary: positive class; else macro)"),
        "precision": (True, "precision (binary: of the positive class; else macro)"),
        "recall": (True, "recall (binary: of the positive class; else macro)"),
        "specificity": (True, "specificity (binary: of the positive class; else macro)"),
        "mcc": (True, "Matthews correlation coefficient"),
        "cohen_kappa": (True, "Cohen's kappa"),
        "calibration_error": (False, "expected calibration error of the softmax confidence (15 bins)"),
    }

    def default_metrics(self, num_outputs: int) -> list[str]:
        return ["acc", "f1", *(["top5"] if num_outputs >= TOP_K_DEFAULT_FROM else [])]

    def default_monitor(self, chosen: list[str] | None = None) -> str:
        return "val/acc" if chosen is None or "acc" in chosen else "val/loss"

    def outputs_text(self, num_outputs: int) -> str:
        return plural(num_outputs, "class")

    def readable(self, outputs, info, thresholds=None) -> list[dict]:
        """Class and probability, and the runner-up."""
        probs = outputs.softmax(dim=1)
        top = probs.topk(min(2, probs.shape[1]), dim=1)
        return [
            {
                "class": info.class_names[indices[0]],
                "probability": values[0],
                "runner_up": info.class_names[indices[1]] if len(indices) > 1 else "",
                "runner_up_probability": values[1] if len(values) > 1 else "",
            }
            for values, indices in zip(top.values.tolist(), top.indices.tolist())
        ]
