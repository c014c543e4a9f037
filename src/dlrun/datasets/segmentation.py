"""Semantic segmentation data: images with masks of class indices.

`dataset=segmentation_folder`: `root/images/<name>.<ext>` and `root/masks/<name>.png` (the
same stem), split with the seed, or `root/train/`, `root/val/`, `root/test/` each holding
`images/` and `masks/`. A mask is a PNG of class indices (grey levels, or a palette PNG,
whose pixels are palette indices, as VOC's are); `dataset.ignore_index` (255) marks pixels
that count nowhere; `root/classes.txt` (one name per line) names the classes, else they are
0 .. the largest index found. Your own Dataset returning (image, mask) goes through the same
pipeline. Image and mask are transformed together (torchvision.transforms.v2 with
tv_tensors.Mask: resizing a mask takes the nearest pixel; crop and flip move both alike).
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors

from dlrun.datasets import image_files
from dlrun.datasets.info import SEGMENTATION, DataBundle, DataInfo
from dlrun.datasets.splits import configured_split
from dlrun.datasets.transforms import build_transforms, normalisation, resolve_resize
from dlrun.datasets.vision import as_plain, as_tensors, random_steps
from dlrun.errors import DlrunError, plural

log = logging.getLogger("dlrun")
IGNORED = -100  # what an ignored pixel is in the targets (torch's ignore_index; dlrun.tasks.segmentation)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def read_mask(path, name: str | None = None) -> np.ndarray:
    """A mask file (a path, or a binary file object called `name` in messages) as (H, W) class
    indices: grey levels, or a palette PNG's indices."""
    name = name or path
    try:
        with Image.open(path) as mask:
            if mask.mode not in ("L", "P", "I", "I;16", "1"):
                raise DlrunError(
                    f"{name} is a {mask.mode} image: a mask holds a class index per pixel (a grey-level or "
                    "palette PNG), not colours. Convert colour-coded masks to indices first."
                )
            return np.array(mask, dtype=np.int64)
    except (OSError, ValueError, SyntaxError) as err:
        raise DlrunError(f"{name} is not a mask that can be read ({type(err).__name__}: {err}).") from err


class MaskedFiles(Dataset):
    """(image, mask) pairs of files: (PIL RGB image, tv_tensors.Mask (H, W) int64)."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.samples = pairs

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i):
        image, mask = self.samples[i]
        return image_files.read_image(image), tv_tensors.Mask(torch.from_numpy(read_mask(mask)))


class DecodedMasks(Dataset):
    """The same pairs decoded once: (uint8 (C, H, W) tensor, tv_tensors.Mask)."""

    def __init__(self, files: MaskedFiles):
        self.samples = files.samples

        def decoded(pair):
            return image_files._decode(pair[0]), tv_tensors.Mask(torch.from_numpy(read_mask(pair[1])))

        with ThreadPoolExecutor(image_files.decode_threads()) as pool:  # PIL decodes without holding the GIL
            self.pairs = list(pool.map(decoded, self.samples))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i):
        return self.pairs[i]


class JointTransformed(Dataset):
    """A split of (image, mask) pairs through one v2 pipeline for both; the mask becomes int64
    class indices with the ignored value as IGNORED."""

    def __init__(self, base: Dataset, indices, pipeline, ignore_index: int | None):
        self.base, self.pipeline, self.ignore_index = base, pipeline, ignore_index
        self.indices = None if indices is None else [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.base) if self.indices is None else len(self.indices)

    def __getitem__(self, i):
        image, mask = self.base[i if self.indices is None else self.indices[i]]
        image, mask = self.pipeline(image, tv_tensors.Mask(torch.as_tensor(np.asarray(mask))))
        target = mask.as_subclass(torch.Tensor).long()
        if self.ignore_index is not None:
            target = target.masked_fill(target == self.ignore_index, IGNORED)
        return image.as_subclass(torch.Tensor), target


def segmentation_folder(cfg) -> DataBundle:
    root = Path(str(cfg.root)).expanduser()  # an existing folder: checked with the config
    parts = {split: root / split for split in ("train", "val", "test") if (root / split / "images").is_dir()}
    if parts and "train" not in parts:
        raise DlrunError(
            f"{root} has {', '.join(p + '/' for p in parts)} but no train/: add train/images and train/masks."
        )
    folders = parts or {"train": root}
    pairs = {split: paired_files(folder) for split, folder in folders.items()}
    ignore = cfg.get("ignore_index")
    with ThreadPoolExecutor(image_files.decode_threads()) as pool:  # every mask read once: its size and largest index
        largest = {split: list(pool.map(lambda pair: surveyed(pair, ignore), found)) for split, found in pairs.items()}
    classes = class_names(root, max(largest["train"]))
    for split, found in pairs.items():
        for pair, top in zip(found, largest[split]):
            if top >= len(classes):
                raise DlrunError(
                    f"{pair[1]} holds the value {top}, outside the {len(classes)} classes (0 .. {len(classes) - 1})"
                    + (f" and not dataset.ignore_index={ignore}" if ignore is not None else "")
                    + ": fix the mask, or list every class in classes.txt."
                )
    files = {split: MaskedFiles(found) for split, found in pairs.items()}
    log.info(
        "segmentation_folder: %s, %s", plural(len(classes), "class"), plural(len(files["train"]), "training image")
    )
    small = (
        sum(image_files.decoded_bytes(f.samples, cfg.split_seed) for f in files.values()) <= image_files.DECODE_LIMIT
    )
    if small:
        files = {split: DecodedMasks(f) for split, f in files.items()}
    return segmentation_bundle(
        cfg, files["train"], classes, val_base=files.get("val"), test_base=files.get("test"), in_memory=small
    )


def paired_files(folder: Path) -> list[tuple[str, str]]:
    """(image, mask) paths of folder/images and folder/masks, paired by file stem."""
    images_dir, masks_dir = folder / "images", folder / "masks"
    for needed in (images_dir, masks_dir):
        if not needed.is_dir():
            raise DlrunError(
                f"{folder} has no {needed.name}/ folder: a segmentation folder holds images/ and masks/ "
                "(the same file names, masks as PNG), or train/ (val/, test/) folders that each do."
            )
    images = {p.stem: p for p in sorted(images_dir.iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS}
    masks = {p.stem: p for p in sorted(masks_dir.iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS}
    alone = sorted(set(images) - set(masks))
    if alone:
        raise DlrunError(
            f"{plural(len(alone), 'image')} in {images_dir} {'has' if len(alone) == 1 else 'have'} no mask in "
            f"{masks_dir}, e.g. {images[alone[0]].name} (a mask has the image's name, as .png)."
        )
    if not images:
        raise DlrunError(f"{images_dir} holds no images ({', '.join(IMAGE_EXTENSIONS)}).")
    return [(str(images[stem]), str(masks[stem])) for stem in images]


def class_names(root: Path, largest: int) -> list[str]:
    """classes.txt's lines, or 0 .. `largest` (the largest index of the training masks)."""
    listed = root / "classes.txt"
    if listed.is_file():
        names = [line.strip() for line in listed.read_text().splitlines() if line.strip()]
    else:
        names = [str(i) for i in range(largest + 1)]
    if len(names) < 2:
        raise DlrunError(
            f"{root}: the masks hold {plural(len(names), 'class')}; segmentation needs at least two "
            "(e.g. background and an object). Name them in classes.txt, one per line."
        )
    return names


def surveyed(pair: tuple[str, str], ignore) -> int:
    """The mask's largest class index (the ignored value left out), once it is known to have its
    image's size."""
    image_path, mask_path = pair
    with Image.open(image_path) as image:
        size = image.size
    with Image.open(mask_path) as mask:
        mask_size = mask.size
    if size != mask_size:
        raise DlrunError(
            f"{mask_path} is {mask_size[1]}x{mask_size[0]} but its image {Path(image_path).name} is "
            f"{size[1]}x{size[0]} (height x width): a mask has its image's size."
        )
    values = read_mask(mask_path)
    values = values[values != ignore] if ignore is not None else values
    return int(values.max()) if values.size else 0


def segmentation_bundle(
    cfg, train_base: Dataset, classes, *, val_base=None, test_base=None, in_memory: bool = False
) -> DataBundle:
    """As image_bundle does for class labels: split, resolve the size, estimate normalisation
    on the training part, and put each split through its pipeline (image and mask together)."""
    train_idx, val_idx, test_idx = configured_split(
        cfg, len(train_base), has_val=val_base is not None, has_test=test_base is not None
    )
    ignore = cfg.get("ignore_index")
    transforms = resolve_resize(cfg.transforms, train_base, train_idx, cfg.split_seed, log.info)
    fill = 255 if ignore is None else int(ignore)

    def pipeline(train: bool, stats):
        return build_transforms(transforms, train=train, stats=stats, mask_fill=fill)

    stats = normalisation(
        transforms, JointTransformed(train_base, train_idx, pipeline(False, None), ignore), cfg.split_seed
    )
    evaluation = pipeline(False, stats)
    train = JointTransformed(train_base, train_idx, pipeline(True, stats), ignore)
    val = JointTransformed(
        val_base if val_base is not None else train_base, None if val_base is not None else val_idx, evaluation, ignore
    )
    test = JointTransformed(
        test_base if test_base is not None else train_base,
        None if test_base is not None else test_idx,
        evaluation,
        ignore,
    )
    input_shape = tuple(val[0][0].shape)
    preprocess = {
        "kind": "image",
        "mean": list(stats[0]) if stats else None,
        "std": list(stats[1]) if stats else None,
        "resize": as_plain(transforms.resize),
    }
    info = DataInfo(SEGMENTATION, len(classes), input_shape, tuple(str(c) for c in classes), preprocess=preprocess)
    if in_memory:  # evaluation pipelines are deterministic: once is enough (training too without random steps)
        val, test = as_tensors(val), as_tensors(test)
        if not random_steps(transforms):
            train = as_tensors(train)
    return DataBundle(train, val, test, info=info, in_memory=in_memory and not random_steps(transforms))
