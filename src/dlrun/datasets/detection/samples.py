"""Images with boxes, as every detection source gives them, and what turns them into batches.

A sample is (image, {"boxes": tv_tensors.BoundingBoxes XYXY in pixels, "labels": int64 class
indices 0 .. K-1}); the transforms (torchvision.transforms.v2) move the boxes with the image,
and torchvision's SanitizeBoundingBoxes drops the boxes an augmentation leaves empty. A batch
is a list of images of their own sizes and a list of targets (`collate`): detectors resize
and normalise inside (torchvision's GeneralizedRCNNTransform and its kin).
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from dlrun.datasets import image_files
from dlrun.errors import DlrunError, plural

log = logging.getLogger("dlrun")
ZOOM_FILL = (124, 116, 104)  # ImageNet's mean colour in uint8: what RandomZoomOut pads with (torchvision's SSD recipe)


@dataclass
class Annotated:
    """One image file and its boxes: (N, 4) x1 y1 x2 y2 pixels, (N,) class indices."""

    path: str
    boxes: np.ndarray
    labels: np.ndarray
    size: tuple[int, int] = (0, 0)  # (height, width), from the file's header
    ids: list = field(default_factory=list)  # where each box came from, for messages (annotation id, line)


def sanitise(samples: list[Annotated], where: str) -> list[Annotated]:
    """Boxes as torchvision's references keep them (ClampBoundingBoxes, then
    SanitizeBoundingBoxes with min_size 1): clipped to their image, and left out when empty,
    degenerate (x2 <= x1) or outside the image; one warning counts what was left out or clipped."""
    dropped = clipped = total = 0
    example = ""
    for sample in samples:
        height, width = sample.size
        boxes = sample.boxes.astype(np.float64)
        total += len(boxes)
        inside = boxes.copy()
        inside[:, 0::2] = boxes[:, 0::2].clip(0, width)
        inside[:, 1::2] = boxes[:, 1::2].clip(0, height)
        keep = ((inside[:, 2] - inside[:, 0]) >= 1) & ((inside[:, 3] - inside[:, 1]) >= 1)
        changed = keep & (np.abs(inside - boxes).max(axis=1, initial=0) > 0)
        clipped += int(changed.sum())
        if not keep.all():
            dropped += int((~keep).sum())
            if not example:
                first = int(np.flatnonzero(~keep)[0])
                label = sample.ids[first] if first < len(sample.ids) else f"box {first + 1}"
                example = (
                    f"e.g. {label} of {sample.path}: {[round(v, 2) for v in boxes[first].tolist()]} in {width}x{height}"
                )
        sample.boxes, sample.labels = inside[keep].astype(np.float32), sample.labels[keep]
        sample.ids = [i for i, k in zip(sample.ids, keep) if k]
    if dropped:
        log.warning(
            "%s: %s of %d %s empty, degenerate or outside their image: left out, as torchvision's "
            "SanitizeBoundingBoxes does (%s)",
            where,
            plural(dropped, "box"),
            total,
            "is" if dropped == 1 else "are",
            example,
        )
    if clipped:
        log.warning("%s: %s reaching outside their image: clipped to it", where, plural(clipped, "box"))
    return samples


def read_sizes(paths: list[str]) -> list[tuple[int, int]]:
    """(height, width) of each image file, from its header; a missing or unreadable file is named."""
    from PIL import Image

    def size(path):
        try:
            with Image.open(path) as image:
                return image.size[1], image.size[0]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, SyntaxError) as err:
            raise DlrunError(f"{path} is not an image that can be read ({type(err).__name__}: {err}).") from err

    with ThreadPoolExecutor(image_files.decode_threads()) as pool:
        sizes = list(pool.map(size, paths))
    missing = [p for p, s in zip(paths, sizes) if s is None]
    if missing:
        raise DlrunError(
            f"{plural(len(missing), 'image')} named by the annotations {'is' if len(missing) == 1 else 'are'} "
            f"missing, e.g. {missing[0]}: add the files, or correct the names (or dataset.root)."
        )
    return sizes


class BoxedImages(Dataset):
    """Annotated samples as (uint8 tv_tensors.Image, {"boxes", "labels"}): read per sample, or
    decoded once (`decoded`) when the images fit in memory."""

    def __init__(self, samples: list[Annotated], decoded: bool = False):
        self.samples = samples
        self.images = None
        if decoded:
            with ThreadPoolExecutor(image_files.decode_threads()) as pool:  # PIL decodes without holding the GIL
                self.images = list(pool.map(lambda s: image_files._decode(s.path), samples))

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i):
        sample = self.samples[i]
        image = self.images[i] if self.images is not None else image_files._decode(sample.path)
        boxes = tv_tensors.BoundingBoxes(
            torch.from_numpy(sample.boxes).reshape(-1, 4), format="XYXY", canvas_size=tuple(image.shape[-2:])
        )
        return tv_tensors.Image(image), {"boxes": boxes, "labels": torch.from_numpy(sample.labels).long()}


class YourBoxes(Dataset):
    """Your Dataset's (image, {"boxes", "labels"}) samples as the transforms take them: the image a
    tv_tensors.Image (a PIL image, an (H, W, C) array, or a (C, H, W) tensor, uint8 or float in [0, 1]),
    the boxes (N, 4) x1 y1 x2 y2 pixels as tv_tensors.BoundingBoxes, the labels int64 class indices."""

    def __init__(self, base: Dataset, where: str, classes: int):
        self.base, self.where, self.classes = base, where, classes

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        image, target = self.base[i]
        if not isinstance(target, dict) or not {"boxes", "labels"} <= set(target):
            raise DlrunError(
                f"{self.where}[{i}] returned a {type(target).__name__} target: task=detection needs "
                '{"boxes": (N, 4) x1 y1 x2 y2 in pixels, "labels": (N,) class indices 0 .. K-1}.'
            )
        image = v2.functional.to_image(image)
        boxes = torch.as_tensor(target["boxes"], dtype=torch.float32).reshape(-1, 4)
        labels = torch.as_tensor(target["labels"], dtype=torch.int64).reshape(-1)
        if len(labels) != len(boxes) or (
            len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < self.classes
        ):
            raise DlrunError(
                f"{self.where}[{i}]: {plural(len(boxes), 'box')} with labels {labels.tolist()}: one label per box, "
                f"each a class index 0 .. {self.classes - 1}."
            )
        canvas = tuple(image.shape[-2:])
        return image, {"boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=canvas), "labels": labels}


class Boxed(Dataset):
    """A split of (image, target) samples through one v2 pipeline for both: a float image in
    [0, 1] and {"boxes" (N, 4) float32, "labels" (N,) int64} as plain tensors."""

    def __init__(self, base: Dataset, indices, pipeline):
        self.base, self.pipeline = base, pipeline
        self.indices = None if indices is None else [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.base) if self.indices is None else len(self.indices)

    def __getitem__(self, i):
        image, target = self.base[i if self.indices is None else self.indices[i]]
        image, target = self.pipeline(image, target)
        return image.as_subclass(torch.Tensor), {
            "boxes": target["boxes"].as_subclass(torch.Tensor).float(),
            "labels": target["labels"].long(),
        }


def transforms(cfg, *, train: bool, extra=None, boxes: bool = True) -> v2.Compose:
    """torchvision's detection recipes: [photometric distortion, zoom out, IoU crop] (SSD),
    [resize], horizontal flip, to float in [0, 1], boxes clipped and the empty ones dropped.
    `extra`: the user's train_extra / eval_extra transforms (v2 transforms move the boxes).
    `boxes=False`: for images alone (`dlrun predict`)."""
    steps = [v2.ToImage()]
    if train and cfg.get("photometric"):
        steps.append(v2.RandomPhotometricDistort())
    if train and cfg.get("zoom_out"):
        steps.append(v2.RandomZoomOut(fill={tv_tensors.Image: ZOOM_FILL, "others": 0}))
    if train and cfg.get("iou_crop"):
        steps.append(v2.RandomIoUCrop())
    resize = cfg.get("resize")
    if resize not in (None, "auto"):  # auto: each image its own size (the detector resizes)
        steps.append(v2.Resize(resize if isinstance(resize, int) else list(resize), antialias=True))
    if train and cfg.get("horizontal_flip"):
        steps.append(v2.RandomHorizontalFlip())
    steps += list(extra or [])
    steps.append(v2.ToDtype(torch.float32, scale=True))
    if boxes:
        steps += [v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes()]
    return v2.Compose(steps)


class ImageBatch:
    """What a detector takes: a list of (C, H, W) images of their own sizes, with their targets
    in training (the detector computes its losses from them)."""

    def __init__(self, images: list, targets: list | None = None):
        self.images, self.targets = list(images), targets

    def __len__(self) -> int:
        return len(self.images)

    def to(self, device, non_blocking: bool = False) -> "ImageBatch":
        return ImageBatch(
            [image.to(device, non_blocking=non_blocking) for image in self.images],
            None if self.targets is None else TargetBatch(self.targets).to(device, non_blocking),
        )


class TargetBatch(list):
    """The targets of a batch: one {"boxes", "labels"} per image."""

    def to(self, device, non_blocking: bool = False) -> "TargetBatch":
        return TargetBatch(
            {key: value.to(device, non_blocking=non_blocking) for key, value in target.items()} for target in self
        )


def collate(samples: list) -> tuple[ImageBatch, TargetBatch]:
    """Samples as lists (images differ in size; boxes per image differ in number)."""
    images, targets = zip(*samples)
    targets = TargetBatch(targets)
    return ImageBatch(images, targets), targets


def class_problem(label, classes: int, where: str) -> DlrunError:
    return DlrunError(f"{where}: class {label} is not one of the {plural(classes, 'class')} (0 .. {classes - 1}).")
