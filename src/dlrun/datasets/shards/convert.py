"""A data set as shards: the bundle a run of it builds (the same split by the same seed, the same
classes, statistics, resolved resize, tokenizer, label ids), its files kept on disk, each split's
samples (the training split's in a seeded random order), `per_shard` to a shard (dlrun.datasets.shards.records says what a sample
becomes), written by worker processes. The same data and seed give the same shards, byte for
byte (tar headers without times or owners)."""

import io
import os
import tarfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

from dlrun.datasets.shards.manifest import FORMAT, NAME
from dlrun.datasets.shards.records import kind_of, sample_members

SPLITS = ("train", "val", "test")
_MEMBERS: dict = {}  # split -> fn(j) -> members, inherited by the forked writers


def add(tar: tarfile.TarFile, name: str, payload: bytes) -> int:
    """A member without time or owner (the same bytes every time); the offset of its data."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(payload), 0, 0o644
    header = tar.offset  # a USTAR member: one 512-byte header block (names are short), then the data
    tar.addfile(info, io.BytesIO(payload))
    return header + tarfile.BLOCKSIZE


def write_shard(path: Path, split: str, start: int, count: int) -> list[list]:
    """One tar shard of samples start .. start+count of a split, keys numbered from `start`. Its
    index rows: [shard, [suffix, offset, size], ...] per sample."""
    rows = []
    tmp = path.with_name(f".tmp-{path.name}")
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for number in range(start, start + count):
            row = [path.name]
            members, order = _MEMBERS[split]
            for suffix, payload in members(order[number]):
                row.append([suffix, add(tar, f"{number:09d}.{suffix}", payload), len(payload)])
            rows.append(row)
    os.replace(tmp, path)
    return rows


def described(cfg, bundle, kind: str) -> dict:
    """What dataset=shards needs beyond the samples: the transforms of the image kinds (resize as
    resolved: auto became the images' size), segmentation's ignored value, audio's SpecAugment."""
    from omegaconf import OmegaConf

    extra = {}
    if kind in ("image", "segmentation", "detection"):
        transforms = OmegaConf.to_container(cfg.transforms, resolve=True)
        if kind != "detection":
            transforms["resize"] = bundle.info.preprocess.get("resize")
        extra["transforms"] = transforms
    if kind == "segmentation":
        extra["ignore_index"] = cfg.get("ignore_index")
    if kind == "audio":
        extra["spec_augment"] = OmegaConf.to_container(cfg.spec_augment) if cfg.get("spec_augment") else None
    return extra


def convert(cfg, output: Path, per_shard: int, workers: int, progress=None) -> dict:
    """Shards and manifest.json of dataset config `cfg` in `output`."""
    from dataclasses import asdict

    from dlrun import datasets
    from dlrun.datasets.image_files import kept_on_disk
    from dlrun.engine.checkpoint import write_json

    with kept_on_disk():  # each split reads its files: their own bytes go into the shards
        bundle = datasets.build_bundle(cfg)
    kind = kind_of(bundle)
    splits = {"train": bundle.train, "val": bundle.val, "test": bundle.test}
    output.mkdir(parents=True, exist_ok=True)
    counts = {split: len(data) for split, data in splits.items()}
    orders = {split: list(range(count)) for split, count in counts.items()}
    # the training samples in a seeded random order: a shard of class folders' files would hold one class,
    # and a training order that reads a few shards at a time (ShardWindows) would batch few classes together
    seed = int(cfg.get("split_seed") or 0)
    orders["train"] = torch.randperm(counts["train"], generator=torch.Generator().manual_seed(seed)).tolist()
    _MEMBERS.clear()
    _MEMBERS.update({split: (sample_members(kind, data), orders[split]) for split, data in splits.items()})
    jobs = [
        (split, output / f"{split}-{start // per_shard:06d}.tar", start, min(per_shard, total - start))
        for split, total in counts.items()
        for start in range(0, total, per_shard)
    ]
    rows = {split: [] for split in counts}
    try:
        with ProcessPoolExecutor(max(1, workers), mp_context=get_context("fork")) as pool:
            futures = [
                (split, count, pool.submit(write_shard, path, split, start, count))
                for split, path, start, count in jobs
            ]
            for split, count, future in futures:
                rows[split] += future.result()
                if progress is not None:
                    progress(count, sum(counts.values()))
    finally:
        _MEMBERS.clear()
    manifest = {
        "format": FORMAT,
        "kind": kind,
        "dataset": cfg.name,
        "task": bundle.info.task,
        "classes": list(bundle.info.class_names or []),
        "info": asdict(bundle.info),
        **described(cfg, bundle, kind),
        "split_seed": cfg.get("split_seed"),
        "counts": counts,
        "splits": {  # source: each sample's place in the split the data set's own run has (train: shuffled)
            split: {"shards": sorted({r[0] for r in split_rows}), "samples": split_rows, "source": orders[split]}
            for split, split_rows in rows.items()
        },
    }
    write_json(manifest, output / NAME)
    return manifest
