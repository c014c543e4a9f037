"""An image folder (class folders, or train/val/test folders of them) as shards: the files'
own bytes (no re-encoding: the same pixels), split exactly as a run of dataset=image_folder
splits them (the same seed), each split's samples in order, `per_shard` to a shard, written by
worker processes; the normalisation statistics and resolved resize as that run computes them.
The same data and seed give the same shards, byte for byte (tar headers without times or owners)."""

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


def convert(cfg, output: Path, per_shard: int, workers: int, progress=None) -> dict:
    """Shards and manifest.json of dataset config `cfg` (dataset=image_folder) in `output`."""
    from omegaconf import OmegaConf

    from dlrun import datasets

    if cfg.name != "image_folder":
        raise DlrunError(
            f"dlrun data convert takes dataset=image_folder so far, not dataset={cfg.name} "
            "(tables, text, audio and your own Dataset are the next steps)."
        )
    bundle = datasets.build_bundle(cfg)  # the classes, statistics and resize a run computes
    samples = image_folder_samples(cfg)
    output.mkdir(parents=True, exist_ok=True)
    jobs = []
    for split, items in samples.items():
        for start in range(0, len(items), per_shard):
            name = f"{split}-{start // per_shard:06d}.tar"
            jobs.append((split, output / name, items[start : start + per_shard], start))
    total = sum(len(items) for items in samples.values())
    rows = {split: [] for split in samples}
    with ProcessPoolExecutor(max(1, workers), mp_context=get_context("fork")) as pool:
        futures = [(split, pool.submit(write_shard, path, items, start)) for split, path, items, start in jobs]
        for (split, future), (_, _, items, _) in zip(futures, jobs):
            rows[split] += future.result()
            if progress is not None:
                progress(len(items), total)
    manifest = {
        "format": FORMAT,
        "kind": "image_folder",
        "task": bundle.info.task,
        "classes": list(bundle.info.class_names),
        "preprocess": bundle.info.preprocess,
        "transforms": {  # resize as resolved (auto: the images' size, as the run found it)
            **OmegaConf.to_container(cfg.transforms, resolve=True),
            "resize": bundle.info.preprocess.get("resize"),
        },
        "source": str(Path(str(cfg.root)).expanduser().resolve()),
        "split_seed": cfg.split_seed,
        "counts": {split: len(r) for split, r in rows.items()},
        "splits": {
            split: {"shards": sorted({r[0] for r in split_rows}), "samples": split_rows}
            for split, split_rows in rows.items()
        },
    }
    from dlrun.engine.checkpoint import write_json

    write_json(manifest, output / NAME)
    return manifest
