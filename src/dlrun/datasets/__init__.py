"""Datasets: `build(cfg.dataset, cfg.loader, ...)` gives the DataLoaders and a DataInfo.

A new dataset is one function returning a DataBundle (its three splits and a
DataInfo), registered in BUILDERS, plus one YAML file in conf/dataset/.
"""

from functools import partial

from dlrun.datasets import csv_data, custom, sklearn_sets, vision
from dlrun.datasets.info import CLASSIFICATION, REGRESSION, DataBundle, DataInfo
from dlrun.datasets.loaders import make_loader
from dlrun.errors import unknown_choice
from dlrun.loader_options import loader_options

__all__ = ["BUILDERS", "CLASSIFICATION", "REGRESSION", "DataBundle", "DataInfo", "build", "build_bundle"]

BUILDERS = {
    "digits": sklearn_sets.digits,
    **{name: partial(sklearn_sets.bundled, name) for name in sklearn_sets.BUNDLED},
    "synthetic": sklearn_sets.synthetic,
    "csv": csv_data.csv,
    **{name: partial(vision.torchvision_set, name) for name in vision.TORCHVISION_SETS},
    "image_folder": vision.image_folder,
    "custom": custom.custom,
}


def build_bundle(cfg) -> DataBundle:
    """The three splits and DataInfo of the dataset config `cfg`."""
    if cfg.name not in BUILDERS:
        raise unknown_choice("dataset", cfg.name, BUILDERS)
    return BUILDERS[cfg.name](cfg)


def build(cfg, loader_cfg, *, seed: int, batch_size: int, cuda: bool = False):
    """(loaders {"train", "val", "test"}, DataInfo)."""
    bundle = build_bundle(cfg)
    options = loader_options(loader_cfg, in_memory=bundle.in_memory, cuda=cuda)
    common = dict(batch_size=batch_size, seed=seed, options=options)
    loaders = {
        "train": make_loader(bundle.train, train=True, **common),
        "val": make_loader(bundle.val, train=False, **common),
        "test": make_loader(bundle.test, train=False, **common),
    }
    return loaders, bundle.info
