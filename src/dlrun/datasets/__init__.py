"""Datasets: `build(cfg.dataset, ...)` gives the DataLoaders and a DataInfo.

A new dataset is one function here (returning its three splits and a DataInfo)
plus one YAML file in conf/dataset/.
"""

from dlrun.datasets import sklearn_sets
from dlrun.datasets.info import CLASSIFICATION, REGRESSION, DataInfo
from dlrun.datasets.loaders import make_loader
from dlrun.errors import unknown_choice

__all__ = ["CLASSIFICATION", "REGRESSION", "DATASETS", "DataInfo", "build"]

DATASETS = {
    "digits": sklearn_sets.digits,
    "synthetic": sklearn_sets.synthetic,
}


def build(cfg, *, seed: int, batch_size: int, pin_memory: bool = False):
    """(loaders {"train", "val", "test"}, DataInfo) for the dataset config `cfg`."""
    if cfg.name not in DATASETS:
        raise unknown_choice("dataset", cfg.name, DATASETS)
    (train, val, test), info = DATASETS[cfg.name](cfg)
    common = dict(batch_size=batch_size, seed=seed, num_workers=cfg.get("num_workers", 0), pin_memory=pin_memory)
    loaders = {
        "train": make_loader(train, train=True, **common),
        "val": make_loader(val, train=False, **common),
        "test": make_loader(test, train=False, **common),
    }
    return loaders, info
