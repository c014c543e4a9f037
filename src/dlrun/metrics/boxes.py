"""Detection metrics: COCO's mean average precision and recall, computed by pycocotools'
COCOeval itself (the numbers papers and leaderboards report), not re-implemented.

Every detection and true box of the split is kept as a row (image, box, score, class) and the
rows are gathered from every process once, when the values are asked. An image is numbered
by its place in the split (the evaluation samplers give rank r the samples r, r + N, ...),
so N processes hand COCOeval exactly what one process would: the same images, boxes and order.
"""

import contextlib
import io

import numpy as np
import torch

from dlrun.distributed import ranks
from dlrun.errors import DlrunError
from dlrun.tasks.detection import COCO_STATS

SMALL, MEDIUM = 32**2, 96**2  # COCO's object sizes (area in pixels)


def cocoeval_classes():
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise DlrunError(
            "task=detection computes COCO mAP with pycocotools, which is not installed: "
            "pip install 'dlrun[detection]' (or pip install pycocotools)."
        ) from None
    return COCO, COCOeval


class BoxScores:
    def __init__(self, classes: int, device: torch.device, details: bool = False):
        self.classes, self.per_class, self.device = classes, details, device
        self.detections, self.truths, self.ids = [], [], []
        self.seen = 0  # images of the split this process has scored

    def update(self, outputs: list, targets: list) -> None:
        """outputs: {"boxes", "scores", "labels"} per image; targets: {"boxes", "labels"} per image."""
        for found, truth in zip(outputs, targets):
            image = float(ranks.rank() + ranks.world_size() * self.seen)
            self.seen += 1
            self.ids.append(image)
            self.detections.append(rows(image, found["boxes"], found["labels"], found["scores"]))
            self.truths.append(rows(image, truth["boxes"], truth["labels"]))

    def gathered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(image ids, detection rows, true-box rows) of the whole split, every process's."""
        ids = torch.tensor(self.ids, dtype=torch.float64, device=self.device)
        detections = torch.cat(self.detections) if self.detections else torch.zeros(0, 7, dtype=torch.float64)
        truths = torch.cat(self.truths) if self.truths else torch.zeros(0, 6, dtype=torch.float64)
        return tuple(ranks.global_cat(t.to(self.device)).cpu().numpy() for t in (ids, detections, truths))

    def values(self) -> dict[str, torch.Tensor]:
        ids, detections, truths = self.gathered()
        stats, per_class = coco_evaluate(ids, detections, truths, self.classes)
        values = {name: torch.tensor(float(v), dtype=torch.float64) for name, v in zip(COCO_STATS, stats)}
        if self.per_class:
            values["per_class"] = {k: torch.as_tensor(v) for k, v in per_class.items()}
        return values


def rows(image: float, boxes: torch.Tensor, labels: torch.Tensor, scores: torch.Tensor | None = None) -> torch.Tensor:
    """(n, 7) image, x1, y1, x2, y2, score, class (detections) or (n, 6) without the score."""
    n = len(boxes)
    columns = [torch.full((n, 1), image, dtype=torch.float64), boxes.detach().double().cpu().reshape(n, 4)]
    if scores is not None:
        columns.append(scores.detach().double().cpu().reshape(n, 1))
    columns.append(labels.detach().double().cpu().reshape(n, 1))
    return torch.cat(columns, dim=1)


def coco_evaluate(ids: np.ndarray, detections: np.ndarray, truths: np.ndarray, classes: int):
    """COCOeval's twelve stats (COCO_STATS) and per class AP, AP@0.5 and the true boxes, for rows as
    BoxScores keeps them (boxes x1 y1 x2 y2; classes 0 .. classes-1)."""
    COCO, COCOeval = cocoeval_classes()
    widths, heights = truths[:, 3] - truths[:, 1], truths[:, 4] - truths[:, 2]
    truth = COCO()
    truth.dataset = {
        "images": [{"id": int(i)} for i in ids],
        "categories": [{"id": c} for c in range(classes)],
        "annotations": [
            {
                "id": n + 1,
                "image_id": int(row[0]),
                "category_id": int(row[5]),
                "bbox": [float(row[1]), float(row[2]), float(w), float(h)],
                "area": float(w * h),
                "iscrowd": 0,
            }
            for n, (row, w, h) in enumerate(zip(truths, widths, heights))
        ],
    }
    support = np.bincount(truths[:, 5].astype(np.int64), minlength=classes) if len(truths) else np.zeros(classes)
    areas = widths * heights
    empty_sizes = [
        not (areas < SMALL).any(),
        not ((areas >= SMALL) & (areas < MEDIUM)).any(),
        not (areas >= MEDIUM).any(),
    ]
    if not len(detections) or not len(truths):  # nothing found, or nothing to find: COCOeval cannot load it
        stats = np.zeros(12)
        for i, empty in enumerate(empty_sizes):
            if empty or not len(truths):
                stats[3 + i] = stats[9 + i] = -1.0
        none = np.full(classes, -1.0) if not len(truths) else np.where(support > 0, 0.0, -1.0)
        return stats, {"ap": none, "ap_50": none, "boxes": support}
    xywh = detections.copy()
    xywh[:, 3:5] = detections[:, 3:5] - detections[:, 1:3]
    with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its progress and table
        truth.createIndex()
        found = truth.loadRes(xywh)
        evaluation = COCOeval(truth, found, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    precision = evaluation.eval["precision"][:, :, :, 0, -1]  # (IoU thresholds, recall points, classes): all sizes, 100
    ap = np.array([mean_valid(precision[:, :, k]) for k in range(classes)])
    ap_50 = np.array([mean_valid(precision[0, :, k]) for k in range(classes)])
    return np.asarray(evaluation.stats, dtype=np.float64), {"ap": ap, "ap_50": ap_50, "boxes": support}


def mean_valid(values: np.ndarray) -> float:
    """COCOeval's mean: over the entries it could compute (-1: a class without true boxes)."""
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else -1.0
