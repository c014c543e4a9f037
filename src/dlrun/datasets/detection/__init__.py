"""Object detection data: images with boxes, from COCO JSON files (`dataset=coco`), YOLO text
files (`dataset=yolo`) or your own Dataset returning (image, {"boxes", "labels"})
(`dataset=custom task=detection`). Images without objects are kept (negatives).

Each source reads its files into `Annotated` samples (dlrun.datasets.detection.samples);
`bundle` splits them with the seed (or takes the files' own splits), checks the boxes once
(clipped to their image; empty, degenerate and outside boxes left out with a warning that
counts them), and puts each split through its box-aware transforms.
"""

import logging

from dlrun.datasets import image_files
from dlrun.datasets.detection.samples import Annotated, Boxed, BoxedImages, collate, sanitise, transforms
from dlrun.datasets.info import DETECTION, DataBundle, DataInfo
from dlrun.datasets.splits import split_indices
from dlrun.datasets.transforms import _extra
from dlrun.datasets.vision import as_plain
from dlrun.errors import plural

log = logging.getLogger("dlrun")

__all__ = ["Annotated", "bundle", "coco", "yolo"]


def coco(cfg) -> DataBundle:
    from dlrun.datasets.detection import coco_files

    return coco_files.coco(cfg)


def yolo(cfg) -> DataBundle:
    from dlrun.datasets.detection import yolo_files

    return yolo_files.yolo(cfg)


def bundle(
    cfg,
    train: list[Annotated],
    classes: list[str],
    label_ids: list[int],
    *,
    val: list[Annotated] | None = None,
    test: list[Annotated] | None = None,
) -> DataBundle:
    """The three splits of annotated images (val and test split from `train` with the seed
    where the files have none) and the DataInfo: classes, and each class's id in the files."""
    parts = {"train": train, "val": val, "test": test}
    for split, samples in parts.items():
        if samples is not None:
            sanitise(samples, f"dataset {split}" if val is not None or test is not None else "dataset")
    small = (
        sum(image_files.decoded_bytes([(s.path,) for s in found], cfg.split_seed) for found in parts.values() if found)
        <= image_files.DECODE_LIMIT
    )
    bases = {split: BoxedImages(found, decoded=small) for split, found in parts.items() if found is not None}
    train_idx, val_idx, test_idx = split_indices(
        len(train),
        None,
        val_fraction=cfg.get("val_fraction"),
        test_fraction=cfg.get("test_fraction"),
        seed=cfg.split_seed,
        has_val=val is not None,
        has_test=test is not None,
    )
    settings = cfg.transforms
    training = transforms(settings, train=True, extra=_extra("train_extra", settings.get("train_extra")))
    evaluation = transforms(settings, train=False, extra=_extra("eval_extra", settings.get("eval_extra")))
    splits = {
        "train": Boxed(bases["train"], train_idx, training),
        "val": Boxed(bases.get("val", bases["train"]), None if val is not None else val_idx, evaluation),
        "test": Boxed(bases.get("test", bases["train"]), None if test is not None else test_idx, evaluation),
    }
    objects = sum(len(train[i].labels) for i in train_idx)
    log.info(
        "%s: %s, %s with %s in training",
        cfg.name,
        plural(len(classes), "class"),
        plural(len(train_idx), "image"),
        plural(objects, "object"),
    )
    preprocess = {"kind": "image", "mean": None, "std": None, "resize": as_plain(settings.get("resize"))}
    info = DataInfo(
        DETECTION,
        len(classes),
        tuple(splits["val"][0][0].shape) if len(splits["val"]) else tuple(splits["train"][0][0].shape),
        tuple(str(c) for c in classes),
        preprocess=preprocess,
        label_ids=tuple(int(i) for i in label_ids),
    )
    return DataBundle(splits["train"], splits["val"], splits["test"], info=info, in_memory=small, collate=collate)
