"""Seeded, stratified train/val/test splits, and train-only standardisation.

The split is scikit-learn's `train_test_split(..., test_size=f, random_state=seed,
stratify=labels)` (StratifiedShuffleSplit, or ShuffleSplit without labels), written out
here with the same random draws in the same order: importing scikit-learn costs 0.8 s of
every run's start (every trial of a search), and this is all dlrun used it for on its
default data. tests/datasets/test_splits.py checks index for index against scikit-learn.
"""

import logging
from math import ceil

import numpy as np

from dlrun.errors import DlrunError

log = logging.getLogger("dlrun")


def hold_out(indices: np.ndarray, labels: np.ndarray | None, fraction: float, seed: int):
    """(kept, held out) index arrays; stratified by `labels` when given and possible."""
    try:
        train, held = shuffle_split(len(indices), fraction, seed, labels)
        return indices[train], indices[held]
    except ValueError as err:
        if labels is None:
            raise DlrunError(f"Cannot hold out {fraction:g} of {len(indices)} samples: {err}") from err
        log.warning("split not stratified (%s)", err)
        return hold_out(indices, None, fraction, seed)


def shuffle_split(n: int, fraction: float, seed: int, labels) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) positions as scikit-learn's ShuffleSplit / StratifiedShuffleSplit draw
    them for test_size=fraction, random_state=seed; a ValueError where they raise one."""
    n_test = ceil(fraction * n)
    n_train = n - n_test
    if n_train == 0:
        raise ValueError(f"With n_samples={n} and test_size={fraction} the train set would be empty.")
    rng = np.random.RandomState(seed)
    if labels is None:
        permutation = rng.permutation(n)
        return permutation[n_test : n_test + n_train], permutation[:n_test]
    classes, y_indices, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if np.min(class_counts) < 2:
        raise ValueError(f"the least populated classes have one member ({classes[class_counts < 2].tolist()})")
    if n_train < len(classes) or n_test < len(classes):
        raise ValueError(f"{min(n_train, n_test)} samples cannot hold each of {len(classes)} classes")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = approximate_mode(class_counts, n_train, rng)
    t_i = approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(classes)):
        permutation = rng.permutation(class_counts[i])
        in_class = class_indices[i].take(permutation, mode="clip")
        train.extend(in_class[: n_i[i]])
        test.extend(in_class[n_i[i] : n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Draws per class, proportional to the class sizes, ties broken at random (scikit-learn's
    sklearn.utils.extmath._approximate_mode)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def split_indices(
    n: int, labels, *, val_fraction, test_fraction, seed: int, has_val: bool = False, has_test: bool = False
):
    """Index arrays (train, val, test) over n samples. Without an official test split,
    `test_fraction` of all samples is held out first; then, without a validation split,
    `val_fraction` of what is left. A split the dataset has already comes back empty."""
    labels = None if labels is None else np.asarray(labels)
    indices = np.arange(n)
    empty = np.array([], dtype=int)
    test = val = empty
    if not has_test:
        indices, test = hold_out(indices, labels, float(test_fraction), seed)  # fractions checked with the config
    if not has_val:
        indices, val = hold_out(indices, None if labels is None else labels[indices], float(val_fraction), seed)
    if len(indices) == 0 or (not has_val and len(val) == 0) or (not has_test and len(test) == 0):
        raise DlrunError(f"{n} samples are too few to split into train, validation and test sets.")
    return np.sort(indices), np.sort(val), np.sort(test)


def configured_split(cfg, n: int, labels=None, *, has_val: bool = False, has_test: bool = False):
    """`split_indices` with the dataset config's fractions and split seed (dataset.val_fraction,
    test_fraction, split_seed): what every builder that splits its samples calls."""
    return split_indices(
        n,
        labels,
        val_fraction=cfg.get("val_fraction"),
        test_fraction=cfg.get("test_fraction"),
        seed=cfg.split_seed,
        has_val=has_val,
        has_test=has_test,
    )


def standardise(train: np.ndarray, *others: np.ndarray, per_feature: bool):
    """Scale with the training split's mean and std only (no leakage from val/test).
    Returns the scaled arrays and (mean, std) as lists (per feature) or floats."""
    axis = 0 if per_feature else None
    mean = train.mean(axis=axis, keepdims=per_feature)
    std = train.std(axis=axis, keepdims=per_feature)
    std = np.where(std > 0, std, 1.0)
    scaled = [((a - mean) / std).astype(np.float32) for a in (train, *others)]
    return scaled, (
        np.ravel(mean).tolist() if per_feature else float(mean),
        np.ravel(std).tolist() if per_feature else float(std),
    )
