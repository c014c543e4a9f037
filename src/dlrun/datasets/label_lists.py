"""Multi-label targets from files: a column of label lists (`cat|dog`), or several 0/1 columns,
made into a multi-hot (N, labels) float array with the labels' names (sorted)."""

import logging

import numpy as np

from dlrun.errors import DlrunError, plural

log = logging.getLogger("dlrun")


def from_lists(values, sep: str, what: str) -> tuple[list[str], np.ndarray]:
    """(label names, multi-hot rows) of label lists separated by `sep`; an empty or missing
    cell is a sample without labels. `values`: a sequence of strings (or NaN)."""
    lists = []
    for value in values:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            lists.append([])
            continue
        lists.append([label.strip() for label in str(value).split(sep) if label.strip()])
    names = sorted({label for labels in lists for label in labels})
    if len(names) < 2:
        raise DlrunError(
            f"{what} holds {plural(len(names), 'label')} ({', '.join(names) or 'none'}) with "
            f"dataset.label_sep={sep!r}: multi-label data needs at least two. Is the separator right?"
        )
    index = {name: i for i, name in enumerate(names)}
    rows = np.zeros((len(lists), len(names)), dtype=np.float32)
    for row, labels in zip(rows, lists):
        row[[index[label] for label in labels]] = 1
    if max((len(labels) for labels in lists), default=0) <= 1:
        log.warning(
            "%s: no sample has more than one label with dataset.label_sep=%r; if that is right, the data "
            "is single-label (task=classification)",
            what,
            sep,
        )
    return names, rows


def from_columns(frame, columns: list[str], file_name: str) -> np.ndarray:
    """Multi-hot rows from 0/1 (or boolean) columns of a pandas DataFrame."""
    import pandas as pd

    for column in columns:
        values = frame[column]
        if values.isna().any():
            raise DlrunError(f"{file_name}: target column {column!r} has empty values: fill them with 0 or 1.")
        if (
            not (pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values))
            or not values.isin([0, 1]).all()
        ):
            found = ", ".join(map(str, pd.unique(values)[:5]))
            raise DlrunError(
                f"{file_name}: target column {column!r} holds {found}: dataset.targets are 0/1 columns, "
                "one per label (a column of label lists takes dataset.target and dataset.label_sep)."
            )
    return frame[columns].to_numpy(np.float32)


def check_multi_hot(y: np.ndarray, what: str) -> np.ndarray:
    """(N, K) 0/1 targets as float32, or a DlrunError saying what they are."""
    if y.ndim != 2 or y.shape[1] < 2:
        raise DlrunError(
            f"task=multilabel needs (N, labels) 0/1 targets, one column per label; {what} has shape {y.shape}."
        )
    if not np.issubdtype(y.dtype, np.number) and y.dtype != bool or not np.isin(y, (0, 1)).all():
        found = ", ".join(map(str, np.unique(y)[:5])) if y.dtype != object else str(y.dtype)
        raise DlrunError(f"task=multilabel needs 0/1 targets; {what} holds {found}.")
    return y.astype(np.float32)
