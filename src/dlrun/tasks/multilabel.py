"""Several labels per sample (tags): logits (batch, labels), multi-hot targets (batch, labels)
of 0/1 floats. A label is predicted when its probability (the sigmoid of its logit) reaches
its threshold: 0.5, a number or a list given with task.thresholds, or tuned per label on the
validation split (task.thresholds=tune, dlrun.metrics.thresholds)."""

from dlrun.errors import plural
from dlrun.tasks.base import Task


class Multilabel(Task):
    name = "multilabel"
    sums = "label_scores"  # dlrun.metrics.builtin.SUMS: what computes its builtin metrics
    losses = "bce_with_logits (or a loss of your own on multi-hot targets)"  # what messages suggest
    default_loss = "bce_with_logits"
    mixes_labels = True  # MixUp/CutMix mix the multi-hot rows as they mix images
    details = "per_label"  # `dlrun eval`: AP, F1, precision, recall and support per label
    outputs_meaning = (
        "logits per label (apply sigmoid for probabilities; a label is present when its probability "
        "reaches its threshold: `thresholds`)"
    )
    builtin_metrics = {
        "f1_macro": (True, "F1 per label at its threshold, averaged over labels"),
        "f1_micro": (True, "F1 of all (sample, label) decisions together"),
        "map": (True, "mean over labels of the average precision (labels with a positive in the split)"),
        "subset_acc": (True, "share of samples whose every label is right (exact match)"),
        "hamming": (False, "Hamming loss: share of (sample, label) decisions that are wrong"),
    }
    library_metrics = {
        "auroc": (True, "area under the ROC curve, per label, averaged over labels"),
    }

    def default_metrics(self, num_outputs: int) -> list[str]:
        return ["f1_macro", "f1_micro", "map", "subset_acc", "hamming"]

    def default_monitor(self, chosen: list[str] | None = None) -> str:
        # mAP does not depend on the thresholds, which task.thresholds=tune chooses after training
        return "val/map" if chosen is None or "map" in chosen else "val/loss"

    def outputs_text(self, num_outputs: int) -> str:
        return plural(num_outputs, "label")

    def readable(self, outputs, info, thresholds=None) -> list[dict]:
        """The labels whose probability reaches their threshold, then every label's probability."""
        names = list(info.class_names or [str(i) for i in range(outputs.shape[1])])
        limits = list(thresholds) if thresholds is not None else [0.5] * len(names)
        rows = []
        for probabilities in outputs.float().sigmoid().tolist():
            chosen = [name for name, p, t in zip(names, probabilities, limits) if p >= t]
            rows.append({"labels": "|".join(chosen), **{f"p_{name}": p for name, p in zip(names, probabilities)}})
        return rows
