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

import numpy as np
import torch

from dlrun.datasets.shards.manifest import FORMAT, NAME, index_dtype, member_count
from dlrun.datasets.shards.records import kind_of, sample_members

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
    samples' members: [(suffix, offset, size), ...] each."""
    found = []
    tmp = path.with_name(f".tmp-{path.name}")
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        members, order = _MEMBERS[split]
        for number in range(start, start + count):
            found.append(
                [
                    (suffix, add(tar, f"{number:09d}.{suffix}", payload), len(payload))
                    for suffix, payload in members(order[number])
                ]
            )
    os.replace(tmp, path)
    return found


def index_of(shard_members: list[tuple[int, list]], order: list[int], suffixes: dict) -> np.ndarray:
    """A split's index (dlrun.datasets.shards.manifest) from each shard's place and its samples'
    members; `suffixes` gains the suffixes it meets."""
    rows = [(place, sample) for place, samples in shard_members for sample in samples]
    most = max((len(sample) for _, sample in rows), default=0)
    index = np.zeros(len(rows), dtype=index_dtype(most))
    index["shard"] = [place for place, _ in rows]
    index["source"] = order
    for k in range(most):
        index[f"suffix{k}"] = [suffixes.setdefault(s[k][0], len(suffixes)) if k < len(s) else -1 for _, s in rows]
        index[f"offset{k}"] = [s[k][1] if k < len(s) else 0 for _, s in rows]
        index[f"size{k}"] = [s[k][2] if k < len(s) else 0 for _, s in rows]
    return index


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
    written = {split: [] for split in counts}  # (the shard's place in its split, its samples' members)
    try:
        with ProcessPoolExecutor(max(1, workers), mp_context=get_context("fork")) as pool:
            futures = [
                (split, count, pool.submit(write_shard, path, split, start, count))
                for split, path, start, count in jobs
            ]
            for split, count, future in futures:
                written[split].append((len(written[split]), future.result()))
                if progress is not None:
                    progress(count, sum(counts.values()))
    finally:
        _MEMBERS.clear()
    suffixes: dict[str, int] = {}
    described_splits = {}
    for split, shard_members in written.items():
        index = index_of(shard_members, orders[split], suffixes)
        name = f"index-{split}.npy"
        with open(output / f".tmp-{name}", "wb") as f:
            np.save(f, index, allow_pickle=False)
        os.replace(output / f".tmp-{name}", output / name)
        shards = [path.name for s, path, _, _ in jobs if s == split]
        described_splits[split] = {"shards": shards, "index": name, "members": member_count(index)}
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
        "suffixes": list(suffixes),
        "splits": described_splits,
    }
    write_json(manifest, output / NAME)
    return manifest
