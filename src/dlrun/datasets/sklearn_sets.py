"""Data sets scikit-learn ships or generates: nothing to download."""

import numpy as np
import torch
from torch.utils.data import TensorDataset

from dlrun.datasets.info import CLASSIFICATION, REGRESSION, DataInfo
from dlrun.datasets.splits import standardise, three_way_split
from dlrun.errors import DlrunError


def digits(cfg):
    """8x8 grayscale digits as (1, 8, 8) images, standardised with the training pixels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8)
    train, val, test = three_way_split(
        images, bunch.target, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction,
        seed=cfg.split_seed, stratify=True,
    )
    xs = standardise(train[0], val[0], test[0], per_feature=False)
    splits = [_tensors(x, y, classification=True) for x, (_, y) in zip(xs, (train, val, test))]
    info = DataInfo(CLASSIFICATION, 10, (1, 8, 8), tuple(str(d) for d in range(10)))
    return splits, info


def synthetic(cfg):
    """Generated tabular data: classification or regression, standardised features."""
    from sklearn.datasets import make_classification, make_regression

    if cfg.task not in (CLASSIFICATION, REGRESSION):
        raise DlrunError(f"dataset.task={cfg.task!r} is not valid: use classification or regression.")
    if cfg.n_samples < 20 or cfg.n_features < 2:
        raise DlrunError("dataset=synthetic needs n_samples >= 20 and n_features >= 2.")
    classification = cfg.task == CLASSIFICATION
    if classification:
        if cfg.n_classes < 2:
            raise DlrunError(f"dataset.n_classes={cfg.n_classes} is too few: use 2 or more.")
        informative = min(cfg.n_features, max(2, int(np.ceil(np.log2(cfg.n_classes))) + 1))
        x, y = make_classification(
            n_samples=cfg.n_samples, n_features=cfg.n_features, n_informative=informative,
            n_redundant=0, n_classes=cfg.n_classes, flip_y=cfg.noise, random_state=cfg.split_seed,
        )
    else:
        x, y = make_regression(
            n_samples=cfg.n_samples, n_features=cfg.n_features, noise=cfg.noise,
            random_state=cfg.split_seed,
        )
        y = y / y.std()  # unit-scale targets so losses read the same for any n_features
    train, val, test = three_way_split(
        x, y, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction,
        seed=cfg.split_seed, stratify=classification,
    )
    xs = standardise(train[0], val[0], test[0], per_feature=True)
    splits = [_tensors(x, y, classification) for x, (_, y) in zip(xs, (train, val, test))]
    if classification:
        info = DataInfo(CLASSIFICATION, cfg.n_classes, (cfg.n_features,), tuple(str(c) for c in range(cfg.n_classes)))
    else:
        info = DataInfo(REGRESSION, 1, (cfg.n_features,))
    return splits, info


def _tensors(x, y, classification: bool) -> TensorDataset:
    """Classification targets are class indices (int64); regression targets are (N, 1) floats."""
    target = torch.as_tensor(y, dtype=torch.int64) if classification else torch.as_tensor(y, dtype=torch.float32)[:, None]
    return TensorDataset(torch.as_tensor(x, dtype=torch.float32), target)
