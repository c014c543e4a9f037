"""Datasets: `build(cfg.dataset, cfg.loader, ...)` gives the DataLoaders and a DataInfo.

A new dataset is one function returning a DataBundle (its three splits and a
DataInfo), registered in `builders()`, plus one YAML file in conf/dataset/ and a
line in catalog.py. This package's import is light (no torch): `dlrun datasets`
reads `catalog`; the builders are imported when data is built.
"""

from __future__ import annotations

from functools import partial

from dlrun.datasets.catalog import DATASETS
from dlrun.datasets.loader_options import loader_options
from dlrun.errors import unknown_choice

__all__ = ["DATASETS", "build", "build_bundle", "builders", "fit"]


def builders() -> dict:
    """dataset name -> builder(cfg). torchvision is imported only by the builders that use it."""
    from dlrun.datasets import arrays, sklearn_sets, tables

    return {
        "digits": sklearn_sets.digits,
        **{name: partial(sklearn_sets.bundled, name) for name in sklearn_sets.BUNDLED},
        "synthetic": sklearn_sets.synthetic,
        "table": tables.table,
        "csv": tables.table,  # the table option's first name: any table file
        "arrays": arrays.arrays,
        **{
            name: partial(_image_set, "torchvision_set", name)
            for name, entry in DATASETS.items()
            if entry.files == "download"
        },
        "image_folder": partial(_image_set, "image_folder"),
        "segmentation_folder": _segmentation_folder,
        "coco": _detection_set,
        "yolo": _detection_set,
        "custom": _custom,
        "text": _text,
        "audio_folder": _audio,
        "audio_table": _audio,
        "shards": _shards,
    }


def _shards(cfg):
    from dlrun.datasets.shards.bundle import shards

    return shards(cfg)


def _image_set(builder: str, *args):
    from dlrun.datasets import vision

    return getattr(vision, builder)(*args)


def _segmentation_folder(cfg):
    from dlrun.datasets import segmentation

    return segmentation.segmentation_folder(cfg)


def _detection_set(cfg):
    from dlrun.datasets import detection

    return getattr(detection, cfg.name)(cfg)


def _text(cfg, fitted=None):
    from dlrun.datasets import text  # tokenizers: imported only for text data

    return text.text(cfg, fitted)


LEARNS = ("text",)  # data sets that learn something from their training split before training (a tokenizer)


def fit(cfg) -> dict | None:
    """What the data set `cfg` learns from its training split before training, as plain data
    (a text set's trained tokenizer), or None. A run computes it once: its other processes get
    rank 0's, its resume, eval and reproduce the run's own (`fitted` of build)."""
    if cfg.name not in LEARNS:
        return None
    from dlrun.datasets import text

    return text.fit(cfg)


def _audio(cfg):
    from dlrun.datasets import audio  # soundfile: imported only for audio data

    return audio.audio(cfg)


def _custom(cfg):
    from dlrun.datasets import custom

    return custom.custom(cfg)


def build_bundle(cfg, fitted: dict | None = None):
    """The three splits and DataInfo (a DataBundle) of the dataset config `cfg`; `fitted`: what
    `fit` learnt for this run before (None: learn it now)."""
    known = builders()
    if cfg.name not in known:
        raise unknown_choice("dataset", cfg.name, known)
    return known[cfg.name](cfg, fitted) if cfg.name in LEARNS else known[cfg.name](cfg)


def build(
    cfg,
    loader_cfg,
    *,
    seed: int,
    batch_size: int,
    device=None,
    shard: tuple[int, int] | None = None,
    fitted: dict | None = None,
):
    """(loaders {"train", "val", "test"}, DataInfo). `shard`: (rank, world size): each loader
    reads this rank's share of every split (a DistributedSampler), `batch_size` per rank.
    Data held as tensors is batched from them on `device` (loader.in_memory). `fitted`: see fit."""
    bundle = build_bundle(cfg, fitted)
    return loaders_of(
        bundle, cfg, loader_cfg, seed=seed, batch_size=batch_size, device=device, shard=shard
    ), bundle.info


def loaders_of(bundle, cfg, loader_cfg, *, seed: int, batch_size: int, device=None, shard=None) -> dict:
    """The three loaders of a built DataBundle (see build)."""
    from torch.utils.data import TensorDataset

    from dlrun.datasets.loaders import make_loader

    splits = {"train": bundle.train, "val": bundle.val, "test": bundle.test}
    options = loader_options(
        loader_cfg,
        in_memory=bundle.in_memory,
        cuda=getattr(device, "type", None) == "cuda",
        tensors=all(isinstance(s, TensorDataset) for s in splits.values()),
        sharded=shard is not None,
    )
    loaders = {
        name: make_loader(
            split,
            train=name == "train",
            batch_size=batch_size,
            seed=seed,
            options=options,
            shard=shard,
            device=device,
            collate=bundle.collate,
            lengths=bundle.lengths if name == "train" and cfg.get("bucket") else None,
        )
        for name, split in splits.items()
    }
    return loaders
