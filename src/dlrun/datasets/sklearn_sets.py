"""Data sets scikit-learn ships or generates: nothing to download."""

from pathlib import Path

import numpy as np

from dlrun.datasets.info import CLASSIFICATION, REGRESSION, DataBundle
from dlrun.datasets.tabular import array_bundle


def digits(cfg) -> DataBundle:
    """8x8 grayscale digits as (1, 8, 8) images."""
    pixels, target = load_digits()
    images = (pixels.reshape(-1, 8, 8) / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    return array_bundle(images, target, cfg, task=CLASSIFICATION, class_names=[str(d) for d in range(10)])


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """(pixels (N, 64), targets (N,)) as sklearn.datasets.load_digits gives them, read from the
    file scikit-learn ships without importing scikit-learn (0.8 s of the default run's start)."""
    import gzip
    from importlib.util import find_spec

    spec = find_spec("sklearn")  # finds the package without running it
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1], data[:, -1].astype(int, copy=False)


# scikit-learn's bundled tables: name -> task
BUNDLED = {"iris": CLASSIFICATION, "wine": CLASSIFICATION, "breast_cancer": CLASSIFICATION, "diabetes": REGRESSION}


def bundled(name: str, cfg) -> DataBundle:
    """One of scikit-learn's bundled tables (`sklearn.datasets.load_<name>`)."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{name}")()
    task = BUNDLED[name]
    names = [str(n) for n in bunch.target_names] if task == CLASSIFICATION else None
    return array_bundle(
        bunch.data.astype(np.float32),
        bunch.target,
        cfg,
        task=task,
        class_names=names,
        feature_names=[str(f) for f in bunch.feature_names],
    )


def synthetic(cfg) -> DataBundle:
    """Generated tabular data: classification or regression."""
    from sklearn.datasets import make_classification, make_regression

    if cfg.task == REGRESSION:  # task, sizes and noise: checked with the config
        x, y = make_regression(
            n_samples=cfg.n_samples, n_features=cfg.n_features, noise=cfg.noise, random_state=cfg.split_seed
        )
        return array_bundle(x.astype(np.float32), y, cfg, task=REGRESSION)
    informative = min(cfg.n_features, max(2, int(np.ceil(np.log2(cfg.n_classes))) + 1))
    x, y = make_classification(
        n_samples=cfg.n_samples,
        n_features=cfg.n_features,
        n_informative=informative,
        n_redundant=0,
        n_classes=cfg.n_classes,
        flip_y=cfg.noise,
        random_state=cfg.split_seed,
    )
    return array_bundle(
        x.astype(np.float32), y, cfg, task=CLASSIFICATION, class_names=[str(c) for c in range(cfg.n_classes)]
    )
