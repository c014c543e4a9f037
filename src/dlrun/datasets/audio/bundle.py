"""dataset=audio_folder (a folder per class) and dataset=audio_table (a table naming audio
files): the clips split with the seed, decoded once into memory when they fit."""

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from dlrun.datasets import image_files
from dlrun.datasets.audio.clips import ClipFeatures, Clips
from dlrun.datasets.audio.decoding import AUDIO_SUFFIXES, duration, read_clip
from dlrun.datasets.audio.features import feature_shape
from dlrun.datasets.image_files import decode_threads
from dlrun.datasets.info import CLASSIFICATION, DataBundle
from dlrun.datasets.splits import configured_split
from dlrun.datasets.tables import class_ids, frame_targets, read_table, target_columns
from dlrun.datasets.tabular import split_targets
from dlrun.errors import DlrunError, did_you_mean, plural

log = logging.getLogger("dlrun")
STATS_CLIPS = 2000  # training clips whose features give the standardisation's mean and std


def audio(cfg) -> DataBundle:
    files, task, y, names = from_table(cfg) if cfg.name == "audio_table" else from_folder(cfg)
    files, y, headers = readable(files, y, cfg.skip_bad_files)
    splits = configured_split(cfg, len(files), y if task == CLASSIFICATION else None)
    how = {
        "kind": "audio",
        "sample_rate": int(cfg.sample_rate),
        "clip_seconds": float(cfg.clip_seconds),
        "features": str(cfg.features),
        "n_mels": int(cfg.n_mels),
        "n_fft": int(cfg.n_fft),
        "hop_length": int(cfg.hop_length),
        "n_mfcc": int(cfg.n_mfcc),
    }
    sources = decode_all(files, headers, how["sample_rate"])
    how.update(standardisation([sources[i] for i in splits[0][:STATS_CLIPS]], how))
    ys, info = split_targets(y, splits, task, feature_shape(how), names, preprocess=how)
    augment = dict(cfg.spec_augment) if cfg.get("spec_augment") else None
    datasets = [
        Clips([sources[i] for i in split], targets, ClipFeatures(how, augment if k == 0 else None), train=k == 0)
        for k, (split, targets) in enumerate(zip(splits, ys))
    ]
    return DataBundle(*datasets, info=info, in_memory=isinstance(sources[0], torch.Tensor))


def from_folder(cfg):
    root = Path(str(cfg.root)).expanduser()
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files, labels = [], []
    for label in classes:
        for file in sorted((root / label).rglob("*")):
            if file.suffix.lower() in AUDIO_SUFFIXES and file.is_file():
                files.append(file)
                labels.append(label)
    if not files:
        raise DlrunError(
            f"dataset.root={str(root)!r} holds no audio files ({', '.join(AUDIO_SUFFIXES)}) in class subfolders "
            "(root/<class>/<clip>.wav)."
        )
    names, y = class_ids(np.asarray(labels), f"dataset.root={str(root)!r}")
    return files, CLASSIFICATION, y, names


def from_table(cfg):
    path = Path(str(cfg.path)).expanduser()
    frame = read_table(path)
    frame.columns = [str(c) for c in frame.columns]
    column = str(cfg.audio)
    if column not in frame.columns:
        raise DlrunError(
            f"dataset.audio: {column!r} is not a column of {path.name}.{did_you_mean(column, list(frame.columns))}"
            f"\nColumns: {', '.join(frame.columns)}"
        )
    targets = target_columns(cfg, frame, path.name)
    base = Path(str(cfg.root)).expanduser() if cfg.get("root") else path.parent
    files = [base / str(name) for name in frame[column]]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise DlrunError(
            f"{path.name}, column {column!r}: {plural(len(missing), 'file')} not found (the first: {missing[0]}). "
            "Paths are relative to the table's folder, or to dataset.root when given."
        )
    task, y, names = frame_targets(cfg, frame, targets, path.name)
    return files, task, y, names


def readable(files: list, y: np.ndarray, skip: bool) -> tuple[list, np.ndarray, list]:
    """(files, targets, (frames, sample rate) of each) of the files whose header reads; one that is
    not audio stops the run (naming it), or with dataset.skip_bad_files=true is left out with a warning."""
    keep, headers = [], []
    for i, file in enumerate(files):
        try:
            headers.append(duration(file))
            keep.append(i)
        except DlrunError as err:
            if not skip:
                raise
            log.warning("skipped (dataset.skip_bad_files=true): %s", str(err).split(". Replace")[0])
    if not keep:
        raise DlrunError("no audio file of the data set could be read.")
    return [files[i] for i in keep], y[keep], headers


def decode_all(files: list, headers: list, sample_rate: int) -> list:
    """The clips as waveforms in memory when they fit in image_files.DECODE_LIMIT (from `headers`, each file's
    (frames, sample rate)), else their paths."""
    size = sum(int(frames * sample_rate / rate) * 4 for frames, rate in headers)
    if size > image_files.DECODE_LIMIT:
        log.info("audio files decoded at each access (%.0f MB decoded would not fit)", size / 1e6)
        return [str(f) for f in files]
    with ThreadPoolExecutor(decode_threads()) as pool:
        waves = list(pool.map(lambda f: torch.from_numpy(read_clip(f, sample_rate)), files))
    log.info("%s decoded once into memory (%.0f MB)", plural(len(waves), "audio clip"), size / 1e6)
    return waves


def standardisation(waves: list, how: dict) -> dict:
    """The mean and std of the training clips' features (their evaluation windows)."""
    make = ClipFeatures(how)
    if not isinstance(waves[0], torch.Tensor):
        waves = [torch.from_numpy(read_clip(w, how["sample_rate"])) for w in waves[:200]]
    values = torch.stack([make(w) for w in waves])
    std = float(values.std())
    return {"mean": float(values.mean()), "std": std if std > 0 else 1.0}
