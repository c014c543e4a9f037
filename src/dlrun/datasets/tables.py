"""`dataset=table` (and `dataset=csv`): a CSV, TSV, Parquet or Feather file with a target
column, read with pandas by the file's extension. Multi-label (task=multilabel): a column of
label lists (dataset.label_sep) or several 0/1 columns (dataset.targets)."""

import logging
from pathlib import Path

import numpy as np

from dlrun.datasets.file_formats import table_format
from dlrun.datasets.info import CLASSIFICATION, MULTILABEL, REGRESSION, DataBundle
from dlrun.datasets.label_lists import from_columns, from_lists
from dlrun.datasets.tabular import array_bundle
from dlrun.errors import DlrunError, did_you_mean, first_line

log = logging.getLogger("dlrun")

MAX_CLASSES_FOR_INTEGERS = 20  # integer targets with more distinct values are treated as regression


def read_table(path: Path, key: str = "dataset.path", default: str | None = None):
    """A pandas DataFrame of the file at `path`, read by its extension (`default`: for others)."""
    import pandas as pd

    kind = table_format(path, key, default)
    try:
        if kind in ("CSV", "TSV"):
            return pd.read_csv(path, sep="\t" if kind == "TSV" else ",")
        if kind == "Parquet":
            return pd.read_parquet(path)
        return pd.read_feather(path)
    except ImportError as err:  # pandas reads Parquet and Feather through pyarrow
        raise DlrunError(f"reading {kind} files needs pyarrow ({err}): pip install pyarrow") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as err:
        raise DlrunError(f"{key}={str(path)!r} could not be read as {kind}: {first_line(err)}") from err


def table(cfg) -> DataBundle:
    path = Path(str(cfg.path)).expanduser()  # an existing file of a known kind: checked with the config
    frame = read_table(path, default="CSV" if cfg.name == "csv" else None)
    frame.columns = [str(c) for c in frame.columns]
    targets = target_columns(cfg, frame, path.name)
    features = _features(frame, cfg, targets, path.name)
    x = frame[features]
    lists = cfg.get("label_sep") is not None  # a column of label lists: an empty cell is no label
    missing = x.columns[x.isna().any()].tolist() + [
        t for t in targets if frame[t].isna().any() and not lists and len(targets) == 1
    ]
    if missing:
        raise DlrunError(
            f"{path.name} has empty values in column(s) {', '.join(map(str, missing))}: fill or drop those rows first."
        )
    feature_names = [str(f) for f in features]
    task, y, class_names = frame_targets(cfg, frame, targets, path.name)
    return array_bundle(x.to_numpy(np.float32), y, cfg, task=task, class_names=class_names, feature_names=feature_names)


def frame_targets(cfg, frame, targets: list[str], file_name: str) -> tuple[str, np.ndarray, list[str] | None]:
    """(task, targets, class or label names) of a table's target column(s): class ids
    (classification), values (regression) or multi-hot rows (multilabel: a column of label
    lists with dataset.label_sep, or several 0/1 columns)."""
    if cfg.task == MULTILABEL:
        if cfg.get("label_sep") is not None:
            names, y = from_lists(frame[targets[0]].tolist(), str(cfg.label_sep), f"{file_name}, column {targets[0]!r}")
            return MULTILABEL, y, names
        return MULTILABEL, from_columns(frame, targets, file_name), targets
    target = targets[0]
    task = infer_task(frame[target], cfg.task)
    y = frame[target]
    if task == CLASSIFICATION:
        class_names, ids = class_ids(y.astype(str) if y.dtype == object else y.to_numpy(), f"dataset.target={target!r}")
        return task, ids, class_names
    if not np.issubdtype(y.dtype, np.number):
        raise DlrunError(f"task=regression but column {target!r} is not numeric.")
    return REGRESSION, y.to_numpy(np.float32), None


def target_columns(cfg, frame, file_name: str) -> list[str]:
    """dataset.targets (multi-label 0/1 columns) or [dataset.target], each a column of the file."""
    from omegaconf import OmegaConf

    several = cfg.get("targets")
    chosen = [str(c) for c in several] if several else [] if OmegaConf.is_missing(cfg, "target") else [cfg.target]
    columns = [str(c) for c in frame.columns]
    for column in chosen:
        if column not in frame.columns:
            key = "dataset.targets" if several else "dataset.target"
            raise DlrunError(
                (f"{key}: {column!r}" if several else f"{key}={column!r}")
                + f" is not a column of {file_name}.{did_you_mean(column, columns)}"
                f"\nColumns: {', '.join(columns)}"
            )
    return chosen


def _features(frame, cfg, targets: list[str], file_name: str) -> list:
    import pandas as pd

    others = [c for c in frame.columns if c not in targets]
    numeric = [
        c for c in others if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    if cfg.features is None:
        skipped = [str(c) for c in others if c not in numeric]
        if skipped:
            log.warning(
                "ignoring non-numeric column(s) %s; choose columns with dataset.features=[...]", ", ".join(skipped)
            )
        if not numeric:
            raise DlrunError(f"{file_name} has no numeric feature columns besides the target {', '.join(targets)}.")
        return numeric
    features = list(cfg.features)
    unknown = [f for f in features if f not in frame.columns]
    if unknown:
        raise DlrunError(
            f"dataset.features names column(s) not in {file_name}: {', '.join(map(str, unknown))}."
            f"{did_you_mean(unknown[0], [str(c) for c in frame.columns])}"
        )
    predicted = [f for f in features if f in targets]
    if predicted:
        raise DlrunError(f"dataset.features lists the target {predicted[0]!r}: a model must not see what it predicts.")
    non_numeric = [f for f in features if f not in numeric]
    if non_numeric:
        raise DlrunError(
            f"dataset.features: column(s) {', '.join(map(str, non_numeric))} of {file_name} are not numeric. "
            f"dlrun learns from numeric columns; encode them first or leave them out. "
            f"Numeric columns: {', '.join(map(str, numeric)) or 'none'}."
        )
    return features


def class_ids(labels, what: str) -> tuple[list[str], np.ndarray]:
    """(class names, a class id per sample) from labels of any kind, classes sorted."""
    class_names, ids = np.unique(labels, return_inverse=True)
    if len(class_names) < 2:
        raise DlrunError(f"{what} has a single value: nothing to classify.")
    return [str(c) for c in class_names], ids.reshape(-1)


def infer_task(target, requested: str) -> str:
    """Strings, booleans and integers with few values are labels; other numbers are values.
    `target`: a pandas Series."""
    import pandas as pd

    if requested in (CLASSIFICATION, REGRESSION):
        return requested
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        task = CLASSIFICATION
    else:
        integral = np.all(np.mod(target.to_numpy(np.float64), 1) == 0)
        task = CLASSIFICATION if integral and target.nunique() <= MAX_CLASSES_FOR_INTEGERS else REGRESSION
    log.info("target %r looks like %s (override with task=...)", target.name, task)
    return task
