"""Small data files in the official on-disk formats, written by the tests themselves.

Each image set has a learnable signal: the class sets the brightness of one band of
the image, so a model can beat chance in an epoch or two.
"""

import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image


def images(n: int, size: int, channels: int, classes: int, seed: int):
    """(uint8 images (N, size, size, C), labels (N,))."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    rng.shuffle(labels)
    x = rng.integers(0, 60, size=(n, size, size, channels), dtype=np.uint8)
    band = size // classes or 1
    for i, label in enumerate(labels):
        x[i, label * band % size : (label * band % size) + band] = 230
    return x, labels


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_idx(path: Path, array: np.ndarray) -> None:
    """MNIST's IDX format: magic (0, 0, ubyte=0x08, ndim), big-endian dims, raw bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def mnist_family(root: Path, folder: str, n_train=80, n_test=30) -> None:
    """root/<folder>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte, as torchvision expects."""
    raw = root / folder / "raw"
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        x, y = images(n, 28, 1, 10, seed)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", x[..., 0])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)


def cifar(root: Path, cls, n_train=100, n_test=40) -> dict:
    """CIFAR's pickled batches under root/<base_folder>; returns the md5 table to patch in."""
    folder = root / cls.base_folder
    folder.mkdir(parents=True)
    hundred = "100" in cls.__name__
    classes = 100 if hundred else 10
    label_key = "fine_labels" if hundred else "labels"
    sums = {}
    train_files = [name for name, _ in cls.train_list]
    x, y = images(n_train, 32, 3, classes, 0)
    for i, name in enumerate(train_files):  # CIFAR stores (N, 3072) rows in channel-major order
        part = slice(i * n_train // len(train_files), (i + 1) * n_train // len(train_files))
        _pickle(folder / name, {"data": x[part].transpose(0, 3, 1, 2).reshape(-1, 3072), label_key: y[part].tolist()})
        sums[name] = md5(folder / name)
    x, y = images(n_test, 32, 3, classes, 1)
    ((test_name, _),) = cls.test_list
    _pickle(folder / test_name, {"data": x.transpose(0, 3, 1, 2).reshape(-1, 3072), label_key: y.tolist()})
    sums[test_name] = md5(folder / test_name)
    meta = cls.meta["filename"]
    _pickle(folder / meta, {cls.meta["key"]: [f"class{i}" for i in range(classes)]})
    sums[meta] = md5(folder / meta)
    return sums


def _pickle(path: Path, data: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(data, f)


def svhn(root: Path, n_train=80, n_test=30) -> dict:
    """train_32x32.mat / test_32x32.mat: X (32, 32, 3, N) uint8, y (N, 1) with 10 for the digit 0."""
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    sums = {}
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        x, y = images(n, 32, 3, 10, seed)
        path = root / f"{split}_32x32.mat"
        savemat(path, {"X": x.transpose(1, 2, 3, 0), "y": np.where(y == 0, 10, y)[:, None]})
        sums[split] = md5(path)
    return sums


def image_tree(root: Path, classes=("cat", "dog"), per_class=12, size=16, seed=0) -> Path:
    """root/<class>/<i>.png, RGB PNG files."""
    x, y = images(per_class * len(classes), size, 3, len(classes), seed)
    for i, (image, label) in enumerate(zip(x, y)):
        folder = root / classes[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    return root


def digit_pngs(folder: Path, indices) -> list[Path]:
    """scikit-learn's digits (the default data set) number `indices` as 8x8 grey PNG files
    digit<i>.png, pixels scaled from 0..16 to 0..255: what a user would hand `dlrun predict`."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    paths = []
    for i in indices:
        paths.append(Path(folder) / f"digit{i}.png")
        Image.fromarray((digits.images[i] * 255 / 16).astype(np.uint8)).save(paths[-1])
    return paths
