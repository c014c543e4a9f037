"""A class per pixel (semantic segmentation): logits (batch, classes, height, width), targets
(batch, height, width) of class indices, -100 where the mask says `ignore` (torch's
ignore_index: cross entropy skips those pixels, and so do the metrics)."""

from dlrun.errors import plural
from dlrun.tasks.base import Task

IGNORED = -100  # a target pixel that counts nowhere (the mask's dataset.ignore_index, e.g. VOC's 255)


class Segmentation(Task):
    name = "segmentation"
    sums = "pixel_counts"  # dlrun.metrics.builtin.SUMS: a confusion matrix over pixels
    takes_class_indices = True
    default_loss = "cross_entropy"
    losses = "cross_entropy, dice or ce_dice"
    details = "per_class"  # `dlrun eval`: IoU, Dice and pixels per class
    spatial = True
    outputs_meaning = "logits per class and pixel (batch, classes, height, width); the mask is their argmax"
    builtin_metrics = {
        "miou": (True, "mean intersection over union (IoU) over classes in the targets or predictions"),
        "pixel_acc": (True, "share of pixels whose class is right (ignored pixels left out)"),
        "dice": (True, "mean Dice coefficient (F1 per class over pixels) over classes in targets or predictions"),
    }

    def default_metrics(self, num_outputs: int) -> list[str]:
        return ["miou", "pixel_acc", "dice"]

    def default_monitor(self, chosen: list[str] | None = None) -> str:
        return "val/miou" if chosen is None or "miou" in chosen else "val/loss"

    def output_shape(self, info) -> tuple:
        return (info.num_outputs, *info.input_shape[1:])

    def outputs_text(self, num_outputs: int) -> str:
        return plural(num_outputs, "class")

    def readable(self, outputs, info, thresholds=None) -> list[dict]:
        """The classes present in each predicted mask and each class's share of its pixels."""
        names = list(info.class_names or [str(i) for i in range(outputs.shape[1])])
        rows = []
        for mask in outputs.argmax(1):
            counts = mask.flatten().bincount(minlength=len(names)).tolist()
            total = max(1, sum(counts))
            present = [name for name, count in zip(names, counts) if count]
            rows.append({"classes": "|".join(present), **{f"share_{n}": c / total for n, c in zip(names, counts)}})
        return rows
