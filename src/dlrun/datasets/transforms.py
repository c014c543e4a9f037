"""Image transforms from `dataset.transforms` (torchvision.transforms.v2).

Training:   to float [0, 1] -> resize -> random crop -> flip -> train_extra -> normalise
Evaluation: to float [0, 1] -> resize -> centre crop  ->         eval_extra  -> normalise
"""

import numpy as np
import torch
from hydra.utils import instantiate
from torch.utils.data import Dataset
from torchvision.transforms import v2

from dlrun.errors import DlrunError, root_cause

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
STATS_SAMPLE = 1000  # training images read to estimate the dataset's mean and std


def _size(key: str, value):
    if value is None:
        return None
    sizes = [value] if isinstance(value, int) else list(value)
    if not 1 <= len(sizes) <= 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise DlrunError(f"dataset.transforms.{key}={value!r} is not a size: use a number or [height, width].")
    return sizes[0] if isinstance(value, int) else sizes


def _extra(key: str, specs) -> list:
    transforms = []
    for spec in specs or []:
        if not hasattr(spec, "get") or not spec.get("_target_"):
            raise DlrunError(f"dataset.transforms.{key}: each entry needs a _target_, e.g. "
                             "{_target_: torchvision.transforms.v2.RandomRotation, degrees: 10}; got " + repr(spec))
        try:
            transforms.append(instantiate(spec))
        except Exception as err:
            raise DlrunError(f"dataset.transforms.{key}: {spec['_target_']} could not be built: {root_cause(err)}") from err
    return transforms


def build_transforms(cfg, *, train: bool, stats: tuple | None) -> v2.Compose:
    """The pipeline for one side; `stats` is the (mean, std) to normalise with, or None."""
    steps = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    resize = _size("resize", cfg.resize)
    if resize is not None:
        steps.append(v2.Resize(resize, antialias=True))
    crop = _size("random_crop", cfg.random_crop)
    if crop is not None:
        steps.append(v2.RandomCrop(crop, padding=cfg.crop_padding or None) if train else v2.CenterCrop(crop))
    if train and cfg.horizontal_flip:
        steps.append(v2.RandomHorizontalFlip())
    steps += _extra("train_extra" if train else "eval_extra", cfg.train_extra if train else cfg.eval_extra)
    if stats is not None:
        steps.append(v2.Normalize(mean=list(stats[0]), std=list(stats[1])))
    return v2.Compose(steps)


def normalisation(cfg, unnormalised_train: Dataset, seed: int) -> tuple | None:
    """(mean, std) per channel for `normalize`: the dataset's own (from a sample of the
    training split, through the evaluation pipeline), ImageNet's, given ones, or None."""
    how = cfg.normalize
    if how in (None, "none", False):
        return None
    if how == "imagenet":
        return IMAGENET_MEAN, IMAGENET_STD
    if hasattr(how, "get") and "mean" in how and "std" in how:
        return tuple(how.mean), tuple(how.std)
    if how != "dataset":
        raise DlrunError(f"dataset.transforms.normalize={how!r} is not valid: use dataset, imagenet, none "
                         "or {mean: [...], std: [...]}.")
    rng = np.random.default_rng(seed)
    count = min(len(unnormalised_train), STATS_SAMPLE)
    picks = rng.choice(len(unnormalised_train), size=count, replace=False)
    images = torch.stack([unnormalised_train[int(i)][0] for i in picks])  # (N, C, H, W)
    mean = images.mean(dim=(0, 2, 3))
    std = images.std(dim=(0, 2, 3)).clamp_min(1e-6)
    return tuple(mean.tolist()), tuple(std.tolist())


class Transformed(Dataset):
    """A view of `base` restricted to `indices` (all when None), with `transform` on the
    input and `target_transform` on the target."""

    def __init__(self, base: Dataset, indices=None, transform=None, target_transform=None):
        self.base = base
        self.indices = None if indices is None else [int(i) for i in indices]
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.base) if self.indices is None else len(self.indices)

    def __getitem__(self, i):
        x, y = self.base[i if self.indices is None else self.indices[i]]
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y
