"""In-memory arrays (scikit-learn sets, CSV files) to seeded splits of tensors."""

import numpy as np
import torch
from torch.utils.data import TensorDataset

from dlrun.datasets.info import CLASSIFICATION, MULTILABEL, REGRESSION, DataBundle, DataInfo
from dlrun.datasets.splits import configured_split, standardise


def array_bundle(x: np.ndarray, y: np.ndarray, cfg, *, task: str, class_names=None, feature_names=None) -> DataBundle:
    """Split (x, y) with the seed, standardise x with training statistics (per feature for
    tabular rows, one scalar for images) and record the training targets' scale for regression.

    x: (N, F) rows or (N, C, H, W) images; y: (N,) class ids, (N,) / (N, K) values, or (N, K)
    0/1 labels (multilabel, `class_names` the labels).
    """
    classification = task == CLASSIFICATION
    train, val, test = configured_split(cfg, len(x), y if classification else None)
    xs, (mean, std) = standardise(x[train], x[val], x[test], per_feature=x.ndim == 2)
    if x.ndim == 2:
        preprocess = {
            "kind": "table",
            "features": list(feature_names) if feature_names is not None else None,
            "mean": mean,
            "std": std,
        }
    else:
        preprocess = {"kind": "array_image", "mean": mean, "std": std}
    ys, info = split_targets(y, (train, val, test), task, tuple(x.shape[1:]), class_names, preprocess=preprocess)
    datasets = [TensorDataset(torch.as_tensor(a), b) for a, b in zip(xs, ys)]
    return DataBundle(*datasets, info=info, in_memory=True)


def split_targets(
    y: np.ndarray, splits, task: str, input_shape: tuple, class_names=None, **info
) -> tuple[list, DataInfo]:
    """The targets of each split as tensors and the DataInfo they imply: class ids (int64),
    multi-hot rows or values (float32; regression records the training split's mean and std
    per output). `info`: more DataInfo fields (preprocess, vocab_size ...)."""
    train = splits[0]
    if task == CLASSIFICATION:
        ys = [torch.as_tensor(y[i], dtype=torch.int64) for i in splits]
        return ys, DataInfo(CLASSIFICATION, len(class_names), input_shape, tuple(class_names), **info)
    if task == MULTILABEL:
        ys = [torch.as_tensor(y[i], dtype=torch.float32) for i in splits]
        return ys, DataInfo(MULTILABEL, y.shape[1], input_shape, tuple(class_names), **info)
    y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)  # (N, K)
    ys = [torch.as_tensor(y[i]) for i in splits]
    return ys, DataInfo(
        REGRESSION,
        y.shape[1],
        input_shape,
        target_mean=tuple(float(m) for m in y[train].mean(axis=0)),
        target_std=tuple(float(s) if s > 0 else 1.0 for s in y[train].std(axis=0)),
        **info,
    )
