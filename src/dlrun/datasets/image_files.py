"""Image files of a folder: decoded once into memory when they are few and small, damaged
files named (or skipped with `dataset.skip_bad_files=true`).

A decoded image is the uint8 (C, H, W) tensor `v2.ToImage()` makes of the file's PIL image,
so the transforms after it see exactly what they would see reading the file every epoch.
"""

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from dlrun.errors import DlrunError

log = logging.getLogger("dlrun")

DECODE_LIMIT = 1 << 30  # bytes: folders whose decoded images fit in this are held in memory
SIZE_SAMPLE = 50  # files whose headers estimate the decoded size
SMALL_SIDE = 64  # decoded images no larger than this train without DataLoader workers
SKIP_HINT = "Replace or delete it, or set dataset.skip_bad_files=true to leave damaged files out with a warning."


def read_image(path, name: str | None = None) -> Image.Image:
    """The file (a path, or a binary file object called `name` in messages) as an RGB PIL image
    (as torchvision's ImageFolder reads it); a file that cannot be decoded is a DlrunError naming it."""
    try:
        if hasattr(path, "read"):
            return Image.open(path).convert("RGB")
        with open(path, "rb") as f:
            image = Image.open(f)
            return image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise DlrunError(
            f"{name or path} is not an image that can be read ({type(err).__name__}: {err}). " + SKIP_HINT
        ) from err


@contextmanager
def kept_on_disk():
    """Data sets built inside read their files at each access, none decoded into memory
    however small: what `dlrun data convert` takes each sample's file from."""
    global DECODE_LIMIT
    saved, DECODE_LIMIT = DECODE_LIMIT, -1
    try:
        yield
    finally:
        DECODE_LIMIT = saved


def _decode(path: str) -> torch.Tensor:
    return image_tensor(read_image(path))


def image_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB PIL image as a uint8 (C, H, W) tensor: what a decoded file is held as."""
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def decoded_bytes(samples: list, seed: int) -> int:
    """Estimated bytes of all images decoded to RGB uint8, from a seeded sample of headers."""
    if not samples:
        return 0
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(samples), size=min(SIZE_SAMPLE, len(samples)), replace=False)
    pixels = []
    for i in picks:
        try:
            with Image.open(samples[int(i)][0]) as image:
                pixels.append(image.size[0] * image.size[1])
        except (OSError, ValueError, SyntaxError):
            continue  # named when it is decoded
    return int(np.mean(pixels) * 3 * len(samples)) if pixels else DECODE_LIMIT + 1


def decode_threads() -> int:
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except AttributeError:
        return max(1, min(8, os.cpu_count() or 1))


def drop_bad_files(folder) -> None:
    """Decode every file of an ImageFolder and leave out those that fail, with a warning."""

    def readable(sample) -> bool:
        try:
            read_image(sample[0])
            return True
        except DlrunError as err:
            log.warning("skipped (dataset.skip_bad_files=true): %s", str(err).removesuffix(" " + SKIP_HINT))
            return False

    with ThreadPoolExecutor(decode_threads()) as pool:
        keep = list(pool.map(readable, folder.samples))
    if not all(keep):
        folder.samples = [s for s, ok in zip(folder.samples, keep) if ok]
        folder.imgs = folder.samples
        targets = [s[1] for s in folder.samples]
        folder.targets = torch.stack(targets) if targets and torch.is_tensor(targets[0]) else targets
        if not folder.samples:
            raise DlrunError(f"{folder.root}: no image could be read.")


class LabelledFiles(Dataset):
    """Multi-label images: a labels file's rows (image,labels: `001.png,cat|dog`, the image
    relative to `root`) as (PIL image, multi-hot float row); an ImageFolder's attributes."""

    def __init__(self, root, labels_file, sep: str):
        from dlrun.datasets.label_lists import from_lists
        from dlrun.datasets.tables import read_table

        path = labels_file if labels_file.is_absolute() or labels_file.is_file() else root / labels_file
        if not path.is_file():
            raise DlrunError(f"dataset.labels_file={str(labels_file)!r}: no such file (looked in {path.resolve()}).")
        frame = read_table(path, "dataset.labels_file", default="CSV")
        if list(frame.columns[:2]) != ["image", "labels"]:
            raise DlrunError(
                f"{path.name} has columns {', '.join(map(str, frame.columns))}: a labels file has the columns "
                "image,labels (e.g. 001.png,cat|dog; an empty labels cell: no label)."
            )
        names, rows = from_lists(frame["labels"].tolist(), sep, f"{path.name}, column 'labels'")
        files = [str(root / str(name)) for name in frame["image"]]
        absent = [f for f in files if not os.path.isfile(f)]
        if absent:
            raise DlrunError(
                f"{path.name} names {len(absent)} image(s) that are not in {root}, e.g. {absent[0]}: "
                "images are given relative to dataset.root."
            )
        self.root, self.classes = str(root), names
        self.class_to_idx = {name: i for i, name in enumerate(names)}
        self.targets = torch.from_numpy(rows)
        self.samples = list(zip(files, self.targets))
        self.imgs = self.samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i):
        path, target = self.samples[i]
        return read_image(path), target


class DecodedFolder(Dataset):
    """An ImageFolder's samples decoded once: (uint8 (C, H, W) tensor, class index)."""

    def __init__(self, folder):
        self.root, self.classes, self.class_to_idx = folder.root, folder.classes, folder.class_to_idx
        self.samples, self.targets = folder.samples, folder.targets
        with ThreadPoolExecutor(decode_threads()) as pool:  # PIL decodes without holding the GIL
            self.images = list(pool.map(_decode, (path for path, _ in self.samples)))
        self.small = max(max(image.shape[1:]) for image in self.images) <= SMALL_SIDE

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i):
        return self.images[i], self.targets[i]


def in_memory(folders: list, seed: int) -> list | None:
    """The folders decoded when all of them together fit in DECODE_LIMIT, else None."""
    size = sum(decoded_bytes(f.samples, seed) for f in folders)
    if size > DECODE_LIMIT:
        return None
    decoded = [DecodedFolder(f) for f in folders]
    log.info(
        "image files decoded once into memory (%.0f MB)",
        sum(sum(image.numel() for image in d.images) for d in decoded) / 1e6,
    )
    return decoded
