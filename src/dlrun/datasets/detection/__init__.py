"""Object detection data: images with boxes, from COCO JSON files (`dataset=coco`), YOLO text
files (`dataset=yolo`) or your own Dataset returning (image, {"boxes", "labels"})
(`dataset=custom task=detection`). Images without objects are kept (negatives).

Each source reads its files into `Annotated` samples (dlrun.datasets.detection.samples);
`bundle` splits them with the seed (or takes the files' own splits), checks the boxes once
(clipped to their image; empty, degenerate and outside boxes left out with a warning that
counts them), and puts each split through its box-aware transforms.
"""

from dlrun.datasets.detection.samples import Annotated

__all__ = ["Annotated", "coco", "yolo"]


def coco(cfg):
    from dlrun.datasets.detection import coco_files

    return coco_files.coco(cfg)


def yolo(cfg):
    from dlrun.datasets.detection import yolo_files

    return yolo_files.yolo(cfg)
