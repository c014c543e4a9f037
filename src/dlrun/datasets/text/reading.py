"""The texts of a text data set and their targets: a table's text column(s) with its target
column(s), as dataset=table reads them, or a folder with one subfolder of .txt files per class."""

import logging
from pathlib import Path

import numpy as np

from dlrun.datasets.info import CLASSIFICATION
from dlrun.datasets.tables import class_ids, frame_targets, read_table, target_columns
from dlrun.errors import DlrunError, did_you_mean, plural

log = logging.getLogger("dlrun")


def text_columns(cfg) -> list[str]:
    """dataset.text as a list: one column, or several joined (two: a pair, as BERT reads them)."""
    chosen = cfg.text
    return [str(chosen)] if isinstance(chosen, str) else [str(c) for c in chosen]


def read_texts(cfg) -> tuple[list, str, np.ndarray, list | None]:
    """(texts, task, targets, class or label names). A text is a string, or a pair of strings
    when dataset.text names two columns. Samples whose text is empty are left out, said once."""
    if cfg.get("path") is not None:
        return from_table(cfg)
    return from_folder(cfg)


def from_table(cfg):
    path = Path(str(cfg.path)).expanduser()
    frame = read_table(path)
    frame.columns = [str(c) for c in frame.columns]
    columns = text_columns(cfg)
    for column in columns:
        if column not in frame.columns:
            raise DlrunError(
                f"dataset.text: {column!r} is not a column of {path.name}.{did_you_mean(column, list(frame.columns))}"
                f"\nColumns: {', '.join(frame.columns)}"
            )
    targets = target_columns(cfg, frame, path.name)
    parts = cells(frame, columns)
    empty = np.logical_and.reduce([(p == "").to_numpy() for p in parts])
    if empty.any():
        first = int(np.flatnonzero(empty)[0])
        log.warning(
            "%s: left out %s with no text (the first: row %d)",
            path.name,
            plural(int(empty.sum()), "row"),
            first + 2,  # the header is line 1
        )
        frame, parts = frame[~empty].reset_index(drop=True), [p[~empty].reset_index(drop=True) for p in parts]
    if len(frame) == 0:
        raise DlrunError(f"{path.name} has no rows with text in column(s) {', '.join(columns)}.")
    texts = joined(parts)
    task, y, names = frame_targets(cfg, frame, targets, path.name)
    return texts, task, y, names


def cells(frame, columns: list[str]) -> list:
    """Each text column's cells as stripped strings (a missing cell: "")."""
    return [frame[c].fillna("").astype(str).str.strip() for c in columns]


def joined(parts: list) -> list:
    """A text per row: one column's strings, or with several columns (first, the others joined) pairs."""
    return list(parts[0]) if len(parts) == 1 else [(p[0], " ".join(p[1:])) for p in zip(*parts)]


def from_folder(cfg):
    root = Path(str(cfg.root)).expanduser()
    if cfg.task not in ("auto", CLASSIFICATION):
        raise DlrunError(
            f"dataset.root={str(root)!r}: a folder per class is classification data, not task={cfg.task}. "
            "For other tasks give a table: dataset.path=... dataset.text=... dataset.target=..."
        )
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    texts, labels, empty = [], [], []
    for label in classes:
        for file in sorted((root / label).rglob("*.txt")):
            content = decode(file, cfg.encoding).strip()
            if not content:
                empty.append(file)
                continue
            texts.append(content)
            labels.append(label)
    if empty:
        log.warning("%s: left out %s with no text (the first: %s)", root.name, plural(len(empty), "file"), empty[0])
    if not texts:
        raise DlrunError(
            f"dataset.root={str(root)!r} holds no .txt files in class subfolders (root/<class>/<name>.txt)."
        )
    names, y = class_ids(np.asarray(labels), f"dataset.root={str(root)!r}")
    return texts, CLASSIFICATION, y, names


def decode(file: Path, encoding: str, hint: str = " or give the files' encoding: dataset.encoding=latin-1") -> str:
    """A text file's content; a file in another encoding is named with where it failed."""
    data = file.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise DlrunError(
            f"{file}: not {encoding} text (byte 0x{data[err.start]:02x} at position {err.start}). Save it as "
            f"{encoding}{hint}."
        ) from err
    except LookupError as err:
        raise DlrunError(
            f"dataset.encoding={encoding!r} is not an encoding Python knows (e.g. utf-8, latin-1)."
        ) from err
