"""Seeded train/val/test splits and train-only standardisation for in-memory arrays."""

import numpy as np
from sklearn.model_selection import train_test_split

from dlrun.errors import DlrunError


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    for name, value in (("dataset.val_fraction", val_fraction), ("dataset.test_fraction", test_fraction)):
        if not isinstance(value, (int, float)) or not 0 < value < 1:
            raise DlrunError(f"{name}={value!r} is not a fraction: use a number between 0 and 1 (exclusive), e.g. 0.15.")
    if val_fraction + test_fraction >= 1:
        raise DlrunError(
            f"dataset.val_fraction + dataset.test_fraction = {val_fraction + test_fraction:g} leaves no training data: "
            "their sum must be below 1."
        )


def three_way_split(x, y, *, val_fraction, test_fraction, seed, stratify):
    """Split arrays into train/val/test; fractions are of the whole; stratified for classification."""
    check_fractions(val_fraction, test_fraction)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y if stratify else None
    )
    val_of_rest = val_fraction / (1 - test_fraction)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_of_rest, random_state=seed, stratify=y_rest if stratify else None
    )
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


def standardise(train: np.ndarray, *others: np.ndarray, per_feature: bool):
    """Scale with the training split's mean and std only (no leakage from val/test)."""
    axis = 0 if per_feature else None
    mean = train.mean(axis=axis, keepdims=per_feature)
    std = train.std(axis=axis, keepdims=per_feature)
    std = np.where(std > 0, std, 1.0)
    return [((a - mean) / std).astype(np.float32) for a in (train, *others)]
