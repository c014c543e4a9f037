"""A data set as shards. An image folder (class folders, or train/val/test folders of them): the
files' own bytes (no re-encoding: the same pixels), split exactly as a run of
dataset=image_folder splits them (the same seed), with the normalisation statistics and resolved
resize that run computes. Any other data set whose samples are fixed tensors (tables, arrays,
texts as token ids): each split's samples as that run's data set holds them (standardised,
tokenised), and its DataInfo. Each split's samples in order, `per_shard` to a shard, written by
worker processes; the same data and seed give the same shards, byte for byte (tar headers
without times or owners)."""

import io
import os
import tarfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from dlrun.datasets.shards.manifest import FORMAT, NAME
from dlrun.errors import DlrunError

SPLITS = ("train", "val", "test")


def image_folder_samples(cfg) -> dict[str, list[tuple[str, int]]]:
    """{split: [(file, class index), ...]} as dataset=image_folder splits the folder."""
    from dlrun.datasets import vision
    from dlrun.datasets.splits import configured_split

    if cfg.get("labels_file"):
        raise DlrunError("dlrun data convert takes class folders so far, not a multi-label labels file.")
    root = Path(str(cfg.root)).expanduser()
    parts = {split: root / split for split in SPLITS if (root / split).is_dir()}
    skip_bad = cfg.get("skip_bad_files", False)
    train_base = vision._folder(parts.get("train", root), skip_bad)
    others = {split: vision._folder(path, skip_bad) for split, path in parts.items() if split != "train"}
    indices = configured_split(
        cfg, len(train_base), train_base.targets, has_val="val" in others, has_test="test" in others
    )
    found = {}
    for split, chosen in zip(SPLITS, indices):
        base = others.get(split)
        found[split] = list(base.samples) if base is not None else [train_base.samples[int(i)] for i in chosen]
    return found


def write_shard(path: Path, items: list[tuple[str, int]], first: int) -> list[list]:
    """One tar shard of `items` (file, class); keys numbered from `first`. Its index rows."""
    rows = []
    tmp = path.with_name(f".tmp-{path.name}")
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for number, (file, target) in enumerate(items, first):
            ext = Path(file).suffix.lower().lstrip(".") or "bin"
            key = f"{number:09d}"
            data = Path(file).read_bytes()
            offset = add(tar, f"{key}.{ext}", data)  # the image file's own bytes
            add(tar, f"{key}.cls", str(target).encode())  # its class index, as WebDataset's .cls
            rows.append([path.name, offset, len(data), ext, int(target)])
    os.replace(tmp, path)
    return rows


def add(tar: tarfile.TarFile, name: str, payload: bytes) -> int:
    """A member without time or owner (the same bytes every time); the offset of its data."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(payload), 0, 0o644
    header = tar.offset  # a USTAR member: one 512-byte header block (names are short), then the data
    tar.addfile(info, io.BytesIO(payload))
    return header + tarfile.BLOCKSIZE


_SPLITS: dict = {}  # the tensor splits being converted, inherited by the forked writers


def write_tensor_shard(path: Path, split: str, start: int, count: int) -> list[list]:
    """One tar shard of samples start .. start+count of a split of tensors: key.x.npy, key.y.npy
    (NumPy's format, read back without pickle). Its index rows."""
    import numpy as np
    import torch

    rows = []
    tmp = path.with_name(f".tmp-{path.name}")
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for number in range(start, start + count):
            x, y = _SPLITS[split][number]
            offsets = []
            for part, value in (("x", x), ("y", y)):
                buffer = io.BytesIO()
                np.save(buffer, torch.as_tensor(value).numpy(), allow_pickle=False)
                offsets += [add(tar, f"{number:09d}.{part}.npy", buffer.getvalue()), buffer.tell()]
            rows.append([path.name, *offsets])
    os.replace(tmp, path)
    return rows


def tensor_splits(bundle, name: str) -> dict:
    """The splits of a data set whose samples are tensors fixed before training (tables, arrays,
    texts as token ids): what a shard can hold as they are."""
    from torch.utils.data import TensorDataset

    from dlrun.datasets.text.samples import TokenIds

    splits = {"train": bundle.train, "val": bundle.val, "test": bundle.test}
    if all(isinstance(s, (TensorDataset, TokenIds)) for s in splits.values()):
        return splits
    raise DlrunError(
        f"dlrun data convert takes image folders (class folders) and data sets of fixed tensors (tables, arrays, "
        f"text) so far; dataset={name}'s training samples change every epoch (random crops, clip windows ...), "
        "which shards of fixed tensors would freeze."
    )


def convert(cfg, output: Path, per_shard: int, workers: int, progress=None) -> dict:
    """Shards and manifest.json of dataset config `cfg` in `output`: an image folder as its files,
    any other data set of fixed tensors as those tensors."""
    from dataclasses import asdict

    from omegaconf import OmegaConf

    from dlrun import datasets

    bundle = datasets.build_bundle(cfg)  # the classes, statistics, resize, tokenizer a run computes
    output.mkdir(parents=True, exist_ok=True)
    jobs = []
    if cfg.name == "image_folder":
        samples = image_folder_samples(cfg)
        counts = {split: len(items) for split, items in samples.items()}
        for split, items in samples.items():
            for start in range(0, len(items), per_shard):
                path = output / f"{split}-{start // per_shard:06d}.tar"
                jobs.append(
                    (
                        split,
                        len(items[start : start + per_shard]),
                        write_shard,
                        (path, items[start : start + per_shard], start),
                    )
                )
    else:
        _SPLITS.clear()
        _SPLITS.update(tensor_splits(bundle, cfg.name))
        counts = {split: len(data) for split, data in _SPLITS.items()}
        for split, total in counts.items():
            for start in range(0, total, per_shard):
                count = min(per_shard, total - start)
                path = output / f"{split}-{start // per_shard:06d}.tar"
                jobs.append((split, count, write_tensor_shard, (path, split, start, count)))
    rows = {split: [] for split in counts}
    with ProcessPoolExecutor(max(1, workers), mp_context=get_context("fork")) as pool:
        futures = [(split, count, pool.submit(write, *args)) for split, count, write, args in jobs]
        for split, count, future in futures:
            rows[split] += future.result()
            if progress is not None:
                progress(count, sum(counts.values()))
    _SPLITS.clear()
    if cfg.name == "image_folder":
        described = {
            "kind": "image_folder",
            "transforms": {  # resize as resolved (auto: the images' size, as the run found it)
                **OmegaConf.to_container(cfg.transforms, resolve=True),
                "resize": bundle.info.preprocess.get("resize"),
            },
        }
    else:
        described = {"kind": "tensors", "info": asdict(bundle.info)}
    manifest = {
        "format": FORMAT,
        **described,
        "dataset": cfg.name,
        "task": bundle.info.task,
        "classes": list(bundle.info.class_names or []),
        "preprocess": bundle.info.preprocess,
        "split_seed": cfg.get("split_seed"),
        "counts": {split: len(r) for split, r in rows.items()},
        "splits": {
            split: {"shards": sorted({r[0] for r in split_rows}), "samples": split_rows}
            for split, split_rows in rows.items()
        },
    }
    from dlrun.engine.checkpoint import write_json

    write_json(manifest, output / NAME)
    return manifest
