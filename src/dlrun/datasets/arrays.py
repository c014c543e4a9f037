"""`dataset=arrays`: inputs and targets as NumPy (.npz, .npy) or torch (.pt) files.

Inputs are features (N, F) or images (N, H, W), (N, C, H, W) or (N, H, W, C); integer images
(uint8 ...) are scaled to [0, 1]. Targets (N,) or (N, K) (values, or 0/1 labels with task=multilabel). The splits, the task inference and
the standardisation are the table's (dlrun.datasets.tables), so the same numbers train alike
whichever file holds them. Files are read without running code: NumPy with
allow_pickle=False, torch with weights_only=True.
"""

from pathlib import Path

import numpy as np

from dlrun.datasets.file_formats import array_format
from dlrun.datasets.info import CLASSIFICATION, MULTILABEL, REGRESSION, DataBundle
from dlrun.datasets.label_lists import check_multi_hot
from dlrun.datasets.tables import class_ids, infer_task
from dlrun.datasets.tabular import array_bundle
from dlrun.errors import DlrunError, did_you_mean, first_line

INPUT_KEYS = ("x", "X", "inputs", "features", "data", "images")
TARGET_KEYS = ("y", "Y", "targets", "labels", "target", "label")
LAYOUTS = ("auto", "channels_first", "channels_last")


def arrays(cfg) -> DataBundle:
    import pandas as pd

    x, y = read_pair(cfg)
    x = as_inputs(x, cfg.get("layout", "auto"))
    y = np.asarray(y)
    if len(x) != len(y):
        raise DlrunError(f"dataset=arrays: {len(x)} inputs but {len(y)} targets; they must pair up one to one.")
    if y.ndim == 2 and y.shape[1] == 1:  # a column of labels or values
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise DlrunError(f"dataset=arrays: targets of shape {y.shape}: use (N,) labels or values, or (N, K) values.")
    if cfg.task == MULTILABEL:  # (N, K) 0/1 targets, labels named by their column
        y = check_multi_hot(y, "dataset=arrays: the targets")
        return array_bundle(x, y, cfg, task=MULTILABEL, class_names=[str(i) for i in range(y.shape[1])])
    task = infer_task(pd.Series(y), cfg.task) if y.ndim == 1 else _multi_task(cfg.task)
    if task == CLASSIFICATION:
        if y.ndim != 1:
            raise DlrunError(f"task=classification needs one label per sample; targets have shape {y.shape}.")
        class_names, ids = class_ids(y, "dataset=arrays: the targets")
        return array_bundle(x, ids, cfg, task=task, class_names=class_names)
    if not np.issubdtype(y.dtype, np.number):
        raise DlrunError(f"task=regression but the targets are {y.dtype}, not numbers.")
    return array_bundle(x, y.astype(np.float32), cfg, task=REGRESSION)


def _multi_task(requested: str) -> str:
    if requested == CLASSIFICATION:
        raise DlrunError("task=classification needs one label per sample, not several target columns.")
    return REGRESSION


def read_pair(cfg):
    """(inputs, targets) as arrays from `path` (and `targets_path`)."""
    path = existing(cfg.path)
    kind = array_format(path)
    targets_path = cfg.get("targets_path")
    if targets_path is not None:
        target_file = existing(targets_path)
        target_kind = array_format(target_file, "dataset.targets_path")
        return (
            single(load(path, kind), path, "dataset.path"),
            single(load(target_file, target_kind), target_file, "dataset.targets_path"),
        )
    content = load(path, kind)
    if isinstance(content, (tuple, list)) and len(content) == 2:
        return tuple(to_numpy(a) for a in content)
    if not isinstance(content, dict):
        raise DlrunError(
            f"dataset.path={cfg.path!r} holds one array: give the targets with "
            "dataset.targets_path=..., or save inputs and targets together (np.savez(path, x=..., y=...))."
        )
    return (
        pick(content, cfg.get("inputs_key", "auto"), INPUT_KEYS, "inputs", path),
        pick(content, cfg.get("targets_key", "auto"), TARGET_KEYS, "targets", path),
    )


def existing(value) -> Path:
    """A file the config names (its existence and kind are checked with the config)."""
    return Path(str(value)).expanduser()


def load(path: Path, kind: str):
    """The file's content: a dict of arrays (.npz, a dict in .pt), one array, or an (inputs, targets) pair."""
    try:
        if kind == "NumPy archive":
            with np.load(path, allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        if kind == "NumPy array":
            return np.load(path, allow_pickle=False)
        import torch

        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # not that format, truncated, or pickled objects
        raise DlrunError(
            f"{path} could not be read as a {kind}: {type(err).__name__}: {first_line(err)}. "
            "dlrun reads plain arrays and tensors only (no pickled objects)."
        ) from err


def to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def single(content, path: Path, key: str) -> np.ndarray:
    if isinstance(content, dict):
        if len(content) != 1:
            raise DlrunError(
                f"{key}: {path.name} holds several arrays ({', '.join(content)}): give one array per file "
                "with dataset.targets_path, or inputs and targets in one file without it."
            )
        content = next(iter(content.values()))
    return to_numpy(content)


def pick(content: dict, key: str, candidates: tuple, what: str, path: Path) -> np.ndarray:
    names = [str(k) for k in content]
    if key != "auto":
        if key not in content:
            raise DlrunError(
                f"dataset.{what}_key={key!r}: {path.name} has no array {key!r}.{did_you_mean(key, names)} "
                f"It holds: {', '.join(names)}."
            )
        return to_numpy(content[key])
    found = [name for name in candidates if name in content]
    if not found:
        raise DlrunError(
            f"{path.name} holds {', '.join(names)}: none is named like the {what} "
            f"({', '.join(candidates)}). Name it with dataset.{what}_key=..."
        )
    return to_numpy(content[found[0]])


def as_inputs(x: np.ndarray, layout: str) -> np.ndarray:
    """float32 (N, F) features or (N, C, H, W) images."""
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DlrunError(f"dataset=arrays: the inputs are {x.dtype}, not numbers.")
    if x.ndim < 2 or x.ndim > 4:
        raise DlrunError(
            f"dataset=arrays: inputs of shape {x.shape}: use (N, features) or images (N, H, W), "
            "(N, C, H, W) or (N, H, W, C)."
        )
    images = x.ndim >= 3
    scale = images and np.issubdtype(x.dtype, np.integer)
    x = x.astype(np.float32) / (np.iinfo(x.dtype).max if scale else 1)
    if x.ndim == 3:
        return x[:, None]
    last = layout == "channels_last" or (layout == "auto" and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4))
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if last else x
