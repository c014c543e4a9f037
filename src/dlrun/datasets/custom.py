"""`dataset=custom`: the user's own torch.utils.data.Dataset, named by import path."""

import logging

import numpy as np
import torch
from omegaconf import OmegaConf
from PIL import Image
from torch.utils.data import Dataset

from dlrun.config.imports import import_object
from dlrun.datasets.info import (
    CLASSIFICATION,
    DETECTION,
    MULTILABEL,
    REGRESSION,
    SEGMENTATION,
    TASKS,
    DataBundle,
    DataInfo,
)
from dlrun.datasets.label_lists import check_multi_hot
from dlrun.datasets.splits import configured_split
from dlrun.datasets.transforms import Transformed
from dlrun.datasets.vision import image_bundle
from dlrun.errors import DlrunError

log = logging.getLogger("dlrun")
TARGET_STATS_SAMPLE = 1000


def custom(cfg) -> DataBundle:
    cls = import_object(cfg.class_path, "dataset.class_path")
    kwargs = OmegaConf.to_container(cfg.kwargs, resolve=True) if cfg.kwargs is not None else {}
    train_base = _instantiate(cls, kwargs, cfg.class_path)
    test_base = None
    if cfg.test_kwargs is not None:
        test_base = _instantiate(
            cls, {**kwargs, **OmegaConf.to_container(cfg.test_kwargs, resolve=True)}, cfg.class_path
        )
    if len(train_base) == 0:
        raise DlrunError(f"{cfg.class_path}(**{kwargs}) has no samples (len is 0).")
    x, y = _pair(train_base[0], cfg.class_path)
    task = _task(cfg.task, y)
    if task == DETECTION:  # (image, {"boxes", "labels"}): the detection pipeline
        return _detection(cfg, train_base, test_base)
    if task == SEGMENTATION:  # (image, mask of class indices): the segmentation pipeline
        from dlrun.datasets.segmentation import segmentation_bundle

        names = _declared_classes(
            cfg,
            train_base,
            "task=segmentation needs the number of classes: give the Dataset a `classes` attribute (their names)",
        )
        return segmentation_bundle(cfg, train_base, names, test_base=test_base)
    labels, names, target = None, ["value"], _values  # regression: values
    if task == CLASSIFICATION:
        labels = _labels(train_base)
        names, target = _classes(cfg, train_base, labels), _class_id
    elif task == MULTILABEL:
        names = _label_names(cfg, train_base, y)
    if isinstance(x, Image.Image) or np.ndim(x) == 3:  # an image: the image pipeline applies
        bundle = image_bundle(cfg, train_base, labels, names, test_base=test_base, task=task)
        for split in (bundle.train, bundle.val, bundle.test):
            split.target_transform = target
        if task == REGRESSION:
            bundle.info = _regression_info(bundle.train, bundle.info.input_shape, bundle.info.preprocess)
        return bundle
    train_idx, val_idx, test_idx = configured_split(cfg, len(train_base), labels, has_test=test_base is not None)
    train = Transformed(train_base, train_idx, _as_float, target)
    val = Transformed(train_base, val_idx, _as_float, target)
    test = (
        Transformed(test_base, None, _as_float, target)
        if test_base is not None
        else Transformed(train_base, test_idx, _as_float, target)
    )
    input_shape = tuple(_as_float(x).shape)
    if task == REGRESSION:
        info = _regression_info(train, input_shape)
    else:
        info = DataInfo(task, len(names), input_shape, tuple(str(n) for n in names))
    return DataBundle(train, val, test, info=info, in_memory=False)


def _detection(cfg, train_base, test_base) -> DataBundle:
    """Your (image, {"boxes", "labels"}) samples: the classes are the Dataset's `classes` (names of
    the class indices 0 .. K-1) or dataset.num_classes."""
    from dlrun.datasets.detection.bundle import bundle
    from dlrun.datasets.detection.samples import YourBoxes

    names = _declared_classes(
        cfg,
        train_base,
        "task=detection needs the classes: give the Dataset a `classes` attribute (their names, for the class "
        "indices 0 .. K-1 of its labels)",
    )
    wrap = lambda base: YourBoxes(base, cfg.class_path, len(names))  # noqa: E731
    test = wrap(test_base) if test_base is not None else None
    return bundle(cfg, wrap(train_base), names, list(range(len(names))), test=test)


def _declared_classes(cfg, dataset, needs: str) -> list[str]:
    """The class names a Dataset of masks or boxes declares (`classes`), or 0 .. dataset.num_classes-1;
    `needs`: what the error says when it declares neither."""
    names = getattr(dataset, "classes", None) or (
        [str(i) for i in range(cfg.num_classes)] if cfg.num_classes is not None else None
    )
    if names is None:
        raise DlrunError(f"{cfg.class_path}: {needs} or set dataset.num_classes.")
    return list(names)


def _label_names(cfg, dataset, y) -> list[str]:
    """Multi-label: the labels' names (the Dataset's `classes`, else 0 .. K-1), the first target
    checked to be a multi-hot row."""
    first = _values(y)
    check_multi_hot(first.numpy()[None], f"{cfg.class_path}'s first target")
    names = getattr(dataset, "classes", None) or [str(i) for i in range(len(first))]
    if len(names) != len(first):
        raise DlrunError(
            f"{cfg.class_path}.classes names {len(names)} labels but its targets have {len(first)} values."
        )
    return list(names)


def _instantiate(cls, kwargs: dict, path: str) -> Dataset:
    try:
        dataset = cls(**kwargs)
    except TypeError as err:
        raise DlrunError(
            f"dataset.class_path={path}: {err}. Set its arguments with dataset.kwargs={{name: value}}."
        ) from err
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise DlrunError(f"dataset.class_path={path} is not a map-style Dataset: it needs __len__ and __getitem__.")
    return dataset


def _pair(sample, path: str):
    if not isinstance(sample, (tuple, list)) or len(sample) != 2:
        raise DlrunError(f"{path}.__getitem__ must return (input, target); it returned {type(sample).__name__}.")
    return sample


def _task(requested: str, y) -> str:
    if requested in TASKS:
        return requested
    integral = isinstance(y, (int, np.integer)) or (
        torch.is_tensor(y) and y.dtype in (torch.int64, torch.int32) and y.numel() == 1
    )
    return CLASSIFICATION if integral else REGRESSION


def _labels(dataset) -> np.ndarray:
    targets = getattr(dataset, "targets", None)
    if targets is None:
        log.info("custom dataset has no `targets` attribute: reading every sample once for its label")
        targets = [int(dataset[i][1]) for i in range(len(dataset))]
    return np.asarray(targets).astype(np.int64)


def _classes(cfg, dataset, labels) -> list[str]:
    if getattr(dataset, "classes", None) is not None:
        return [str(c) for c in dataset.classes]
    count = cfg.num_classes if cfg.num_classes is not None else int(labels.max()) + 1
    return [str(c) for c in range(count)]


def _regression_info(train: Dataset, input_shape, preprocess: dict | None = None) -> DataInfo:
    picks = range(min(len(train), TARGET_STATS_SAMPLE))
    values = torch.stack([train[i][1] for i in picks])  # (N, K)
    std = values.std(dim=0) if len(values) > 1 else torch.ones(values.shape[1])
    return DataInfo(
        REGRESSION,
        values.shape[1],
        tuple(input_shape),
        target_mean=tuple(values.mean(dim=0).tolist()),
        target_std=tuple(s if s > 0 else 1.0 for s in std.tolist()),
        preprocess=preprocess,  # images: how predict and export make an input of a file
    )


def _as_float(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=torch.float32)


def _class_id(y) -> torch.Tensor:
    return torch.as_tensor(int(y), dtype=torch.int64)


def _values(y) -> torch.Tensor:
    return torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y, dtype=torch.float32).reshape(-1)
