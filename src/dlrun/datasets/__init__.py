"""Datasets: `build(cfg.dataset, cfg.loader, ...)` gives the DataLoaders and a DataInfo.

A new dataset is one function returning a DataBundle (its three splits and a
DataInfo), registered in `builders()`, plus one YAML file in conf/dataset/ and a
line in catalog.py. This package's import is light (no torch): `dlrun datasets`
reads `catalog`; the builders are imported when data is built.
"""

from __future__ import annotations

from functools import partial

from dlrun.datasets.catalog import DATASETS
from dlrun.errors import unknown_choice
from dlrun.loader_options import loader_options

__all__ = ["DATASETS", "build", "build_bundle", "builders"]


def builders() -> dict:
    from dlrun.datasets import csv_data, custom, sklearn_sets, vision

    return {
        "digits": sklearn_sets.digits,
        **{name: partial(sklearn_sets.bundled, name) for name in sklearn_sets.BUNDLED},
        "synthetic": sklearn_sets.synthetic,
        "csv": csv_data.csv,
        **{name: partial(vision.torchvision_set, name) for name in vision.TORCHVISION_SETS},
        "image_folder": vision.image_folder,
        "custom": custom.custom,
    }


def build_bundle(cfg):
    """The three splits and DataInfo (a DataBundle) of the dataset config `cfg`."""
    known = builders()
    if cfg.name not in known:
        raise unknown_choice("dataset", cfg.name, known)
    return known[cfg.name](cfg)


def build(cfg, loader_cfg, *, seed: int, batch_size: int, cuda: bool = False, shard: tuple[int, int] | None = None):
    """(loaders {"train", "val", "test"}, DataInfo). `shard`: (rank, world size): each loader
    reads this rank's share of every split (a DistributedSampler), `batch_size` per rank."""
    from dlrun.datasets.loaders import make_loader

    bundle = build_bundle(cfg)
    options = loader_options(loader_cfg, in_memory=bundle.in_memory, cuda=cuda)
    common = dict(batch_size=batch_size, seed=seed, options=options, shard=shard)
    loaders = {
        "train": make_loader(bundle.train, train=True, **common),
        "val": make_loader(bundle.val, train=False, **common),
        "test": make_loader(bundle.test, train=False, **common),
    }
    return loaders, bundle.info
