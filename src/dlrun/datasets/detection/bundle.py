"""How annotated images become a run's three splits (dlrun.datasets.detection)."""

import logging

from torch.utils.data import Dataset

from dlrun.datasets import image_files
from dlrun.datasets.detection.samples import Annotated, Boxed, BoxedImages, collate, sanitise, transforms
from dlrun.datasets.info import DETECTION, DataBundle, DataInfo
from dlrun.datasets.splits import configured_split
from dlrun.datasets.transforms import _extra
from dlrun.datasets.vision import as_plain
from dlrun.errors import plural

log = logging.getLogger("dlrun")


def files_bundle(
    cfg,
    train: list[Annotated],
    classes: list[str],
    label_ids: list[int],
    *,
    val: list[Annotated] | None = None,
    test: list[Annotated] | None = None,
) -> DataBundle:
    """COCO's and YOLO's annotated image files: their boxes checked once (clipped to their image;
    empty, degenerate and outside boxes left out with a warning that counts them), the images
    decoded once when they fit in memory, then `bundle`."""
    parts = {"train": train, "val": val, "test": test}
    for split, samples in parts.items():
        if samples is not None:
            sanitise(samples, f"dataset {split}" if val is not None or test is not None else "dataset")
    # every image's size is known from its header (read once, by the file readers): RGB uint8 bytes
    decoded = sum(3 * s.size[0] * s.size[1] for found in parts.values() if found for s in found)
    small = decoded <= image_files.DECODE_LIMIT
    bases = {split: BoxedImages(found, decoded=small) for split, found in parts.items() if found is not None}
    return bundle(
        cfg, bases["train"], classes, label_ids, val=bases.get("val"), test=bases.get("test"), in_memory=small
    )


def bundle(
    cfg, train: Dataset, classes: list[str], label_ids: list[int], *, val=None, test=None, in_memory: bool = False
) -> DataBundle:
    """The three splits of (image, {"boxes", "labels"}) datasets (val and test split from `train`
    with the seed where there are none), each through its box-aware transforms, and the DataInfo:
    the classes, and each class's id in the files."""
    train_idx, val_idx, test_idx = configured_split(cfg, len(train), has_val=val is not None, has_test=test is not None)
    settings = cfg.transforms
    training = transforms(settings, train=True, extra=_extra("train_extra", settings.get("train_extra")))
    evaluation = transforms(settings, train=False, extra=_extra("eval_extra", settings.get("eval_extra")))
    splits = {
        "train": Boxed(train, train_idx, training),
        "val": Boxed(val if val is not None else train, None if val is not None else val_idx, evaluation),
        "test": Boxed(test if test is not None else train, None if test is not None else test_idx, evaluation),
    }
    log.info("%s: %s, %s in training", cfg.name, plural(len(classes), "class"), plural(len(train_idx), "image"))
    preprocess = {"kind": "image", "mean": None, "std": None, "resize": as_plain(settings.get("resize"))}
    first = splits["val"] if len(splits["val"]) else splits["train"]
    info = DataInfo(
        DETECTION,
        len(classes),
        tuple(first[0][0].shape),
        tuple(str(c) for c in classes),
        preprocess=preprocess,
        label_ids=tuple(int(i) for i in label_ids),
    )
    return DataBundle(splits["train"], splits["val"], splits["test"], info=info, in_memory=in_memory, collate=collate)
