"""Seeded, stratified train/val/test splits, and train-only standardisation."""

import logging

import numpy as np
from sklearn.model_selection import train_test_split

from dlrun.errors import DlrunError

log = logging.getLogger("dlrun")


def check_fraction(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise DlrunError(f"{key}={value!r} is not a fraction: use a number between 0 and 1 (exclusive), e.g. 0.15.")
    return float(value)


def hold_out(indices: np.ndarray, labels: np.ndarray | None, fraction: float, seed: int):
    """(kept, held out) index arrays; stratified by `labels` when given and possible."""
    try:
        return train_test_split(indices, test_size=fraction, random_state=seed, stratify=labels)
    except ValueError as err:
        if labels is None:
            raise DlrunError(f"Cannot hold out {fraction:g} of {len(indices)} samples: {err}") from err
        log.warning("split not stratified (%s)", err)
        return hold_out(indices, None, fraction, seed)


def split_indices(n: int, labels, *, val_fraction, test_fraction, seed: int, has_val: bool = False,
                  has_test: bool = False):
    """Index arrays (train, val, test) over n samples. Without an official test split,
    `test_fraction` of all samples is held out first; then, without a validation split,
    `val_fraction` of what is left. A split the dataset has already comes back empty."""
    labels = None if labels is None else np.asarray(labels)
    indices = np.arange(n)
    empty = np.array([], dtype=int)
    test = val = empty
    if not has_test:
        test_fraction = check_fraction("dataset.test_fraction", test_fraction)
        indices, test = hold_out(indices, labels, test_fraction, seed)
    if not has_val:
        val_fraction = check_fraction("dataset.val_fraction", val_fraction)
        indices, val = hold_out(indices, None if labels is None else labels[indices], val_fraction, seed)
    if len(indices) == 0 or (not has_val and len(val) == 0) or (not has_test and len(test) == 0):
        raise DlrunError(f"{n} samples are too few to split into train, validation and test sets.")
    return np.sort(indices), np.sort(val), np.sort(test)


def standardise(train: np.ndarray, *others: np.ndarray, per_feature: bool):
    """Scale with the training split's mean and std only (no leakage from val/test).
    Returns the scaled arrays and (mean, std) as lists (per feature) or floats."""
    axis = 0 if per_feature else None
    mean = train.mean(axis=axis, keepdims=per_feature)
    std = train.std(axis=axis, keepdims=per_feature)
    std = np.where(std > 0, std, 1.0)
    scaled = [((a - mean) / std).astype(np.float32) for a in (train, *others)]
    return scaled, (np.ravel(mean).tolist() if per_feature else float(mean), np.ravel(std).tolist() if per_feature else float(std))
