"""Object detection: boxes, each with a class and a score, per image.

Inputs are lists of images of their own sizes, targets one {"boxes" (N, 4) x1 y1 x2 y2 in
pixels, "labels" (N,) class indices 0 .. K-1} per image (dlrun.datasets.detection collates them
as lists). The model is one of torchvision's detectors: in training it returns its loss
dictionary (summed for the step; each part logged as train/<part>), in evaluation its
detections, scored with COCO's mean average precision (pycocotools' COCOeval). torchvision's
detectors compute their losses in training mode only, so a validation split has mAP and no loss.
"""

from dlrun.errors import plural
from dlrun.tasks.base import Task

# COCOeval's twelve figures, in its order (COCOeval.stats): -1 where the split has no object of that size
COCO_STATS = (
    "map",
    "map_50",
    "map_75",
    "map_small",
    "map_medium",
    "map_large",
    "mar_1",
    "mar_10",
    "mar_100",
    "mar_small",
    "mar_medium",
    "mar_large",
)


class Detection(Task):
    name = "detection"
    sums = "box_scores"  # dlrun.metrics.builtin.SUMS: every detection and true box, scored by COCOeval
    default_loss = "detection"
    losses = "detection (the detector's own losses, summed)"
    evaluation_loss = False
    details = "per_class"  # `dlrun eval`: AP and AP@0.5 per class
    boxes = True
    outputs_meaning = "per image: boxes (x1, y1, x2, y2 in the input's pixels), labels (class indices), scores"
    builtin_metrics = {
        "map": (True, "COCO mAP: mean AP over IoU 0.50:0.95 and classes (COCOeval)"),
        "map_50": (True, "AP at IoU 0.5 (PASCAL VOC's metric)"),
        "map_75": (True, "AP at IoU 0.75"),
        "map_small": (True, "mAP of objects under 32x32 px (-1: none in the split)"),
        "map_medium": (True, "mAP of objects from 32x32 to 96x96 px (-1: none in the split)"),
        "map_large": (True, "mAP of objects over 96x96 px (-1: none in the split)"),
        "mar_1": (True, "mean average recall with 1 detection per image"),
        "mar_10": (True, "mean average recall with 10 detections per image"),
        "mar_100": (True, "mean average recall with 100 detections per image"),
        "mar_small": (True, "mAR (100 per image) of small objects (-1: none in the split)"),
        "mar_medium": (True, "mAR (100 per image) of medium objects (-1: none in the split)"),
        "mar_large": (True, "mAR (100 per image) of large objects (-1: none in the split)"),
    }

    def default_metrics(self, num_outputs: int) -> list[str]:
        return ["map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_100"]

    def default_monitor(self, chosen: list[str] | None = None) -> str:
        if chosen is None or "map" in chosen:
            return "val/map"
        return f"val/{next((c for c in chosen if c in self.builtin_metrics), 'map')}"

    def output_shape(self, info) -> tuple:
        return ()  # a list of detections per image, not a tensor

    def outputs_text(self, num_outputs: int) -> str:
        return plural(num_outputs, "class")

    def readable(self, outputs, info, thresholds=None) -> list[dict]:
        """Per image: how many boxes, and the classes found (a box per row: dlrun.runs.boxes)."""
        names = list(info.class_names or [])
        rows = []
        for found in outputs:
            labels = [names[i] if i < len(names) else str(i) for i in found["labels"].tolist()]
            rows.append(
                {
                    "boxes": len(labels),
                    "classes": "|".join(sorted(set(labels), key=labels.index)),
                    "best_score": max(found["scores"].tolist(), default=0.0),
                }
            )
        return rows
