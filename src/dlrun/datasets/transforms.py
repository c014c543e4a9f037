"""Image transforms from `dataset.transforms` (torchvision.transforms.v2).

Training:   to float [0, 1] -> resize -> random crop -> flip -> auto_augment -> train_extra -> normalise -> random erasing
Evaluation: to float [0, 1] -> resize -> centre crop  ->                          eval_extra  -> normalise

`auto_augment` is a policy of torchvision.transforms.v2 (RandAugment, TrivialAugmentWide,
AutoAugment, AugMix), applied to the uint8 image as torchvision's reference recipes do;
random erasing follows normalisation, as there.
"""

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from dlrun.config import plain
from dlrun.config.imports import build
from dlrun.errors import DlrunError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
STATS_SAMPLE = 1000  # training images read to estimate the dataset's mean and std


AUTO_SAMPLE = 200  # images whose size `resize: auto` reads (headers only for files)
AUTO_CAP = 224  # `resize: auto` of images that differ in size: their median, at most this on the longer side


def resolve_resize(cfg, base: Dataset, indices, seed: int, say) -> object:
    """`resize: auto` made concrete from a seeded sample of the training images: none when
    they share one size, else their median size (capped). Returns cfg, or a copy with the size."""
    if cfg.get("resize") != "auto":
        return cfg
    from omegaconf import OmegaConf

    picks = list(range(len(base))) if indices is None else list(indices)
    rng = np.random.default_rng(seed)
    if len(picks) > AUTO_SAMPLE:
        picks = [picks[int(i)] for i in rng.choice(len(picks), size=AUTO_SAMPLE, replace=False)]
    sizes = [image_size(base, i) for i in picks]
    resolved = OmegaConf.create(OmegaConf.to_container(cfg))
    if len(set(sizes)) <= 1:
        resolved.resize = None
        if sizes:
            say(
                f"images: all {sizes[0][0]}x{sizes[0][1]} (height x width, {len(sizes)} sampled): trained at "
                "that size (dataset.transforms.resize=auto)"
            )
        return resolved
    heights, widths = sorted(h for h, _ in sizes), sorted(w for _, w in sizes)
    height, width = heights[len(heights) // 2], widths[len(widths) // 2]
    scale = min(1.0, AUTO_CAP / max(height, width))
    resolved.resize = [max(1, round(height * scale)), max(1, round(width * scale))]
    say(
        f"images: from {min(heights)}x{min(widths)} to {max(heights)}x{max(widths)} ({len(sizes)} sampled): "
        f"all resized to {resolved.resize[0]}x{resolved.resize[1]}, their median size"
        + (f" scaled to at most {AUTO_CAP}" if scale < 1 else "")
        + "; choose another with dataset.transforms.resize=[H, W]"
    )
    return resolved


def trained_resize(transforms_cfg, preprocess: dict, input_shape) -> object:
    """The resize for a new input of a run: its config's, or for `auto` the size chosen then
    (recorded in the run's data description) or, where its images shared one size, that
    size (its model's input): a new image of another size is brought to it."""
    resize = transforms_cfg.get("resize")
    if resize != "auto":
        return resize
    return (preprocess or {}).get("resize") or list(input_shape[1:])


def image_size(base: Dataset, index: int) -> tuple[int, int]:
    """(height, width) of one sample: from the file's header when the dataset lists files."""
    from PIL import Image

    samples = getattr(base, "samples", None)
    if samples is not None and isinstance(samples[index], tuple) and isinstance(samples[index][0], str):
        path = samples[index][0]
        try:
            with Image.open(path) as image:
                return image.size[1], image.size[0]
        except (OSError, ValueError) as err:
            from dlrun.datasets.image_files import SKIP_HINT

            raise DlrunError(
                f"{path} is not an image that can be read ({type(err).__name__}: {err}). " + SKIP_HINT
            ) from err
    x = base[index][0]
    if isinstance(x, Image.Image):
        return x.size[1], x.size[0]
    shape = tuple(getattr(x, "shape", ()))
    if isinstance(x, np.ndarray) and len(shape) == 3 and shape[-1] in (1, 3, 4):
        return shape[0], shape[1]  # height, width, channels
    return (shape[-2], shape[-1]) if len(shape) >= 2 else (1, shape[-1] if shape else 1)


def _size(value):
    """A size the config gives (checked with it): a number, [height, width] or null."""
    if value is None or isinstance(value, int):
        return value
    return list(value)


def _extra(key: str, specs) -> list:
    """The user's transforms: torchvision's, or a class or function of their own (working directory)."""
    transforms = []
    for index, spec in enumerate(specs or []):
        spec = plain(spec)  # each entry has a _target_ or class_path: checked with the config
        transform = build(spec, f"dataset.transforms.{key}[{index}]")
        if not callable(transform):
            raise DlrunError(
                f"dataset.transforms.{key}[{index}] built a {type(transform).__name__}, which cannot be "
                "called on an image: a transform is a callable (an nn.Module or a v2.Transform)."
            )
        transforms.append(transform)
    return transforms


def build_transforms(cfg, *, train: bool, stats: tuple | None, mask_fill: int = 0) -> v2.Compose:
    """The pipeline for one side; `stats` is the (mean, std) to normalise with, or None. It takes an
    image, or an image and its tv_tensors.Mask (segmentation): the mask is resized with the nearest
    pixel, cropped and flipped as the image is, and padded with `mask_fill` (the ignored value)."""
    steps = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    resize = _size(cfg.resize)
    if resize is not None:
        steps.append(v2.Resize(resize, antialias=True))
    crop = _size(cfg.random_crop)
    if crop is not None:
        fill = {tv_tensors.Mask: mask_fill, "others": 0}
        steps.append(v2.RandomCrop(crop, padding=cfg.crop_padding or None, fill=fill) if train else v2.CenterCrop(crop))
    if train and cfg.horizontal_flip:
        steps.append(v2.RandomHorizontalFlip())
    if train and cfg.get("auto_augment"):
        steps += [v2.ToDtype(torch.uint8, scale=True), policy(cfg.auto_augment), v2.ToDtype(torch.float32, scale=True)]
    steps += _extra("train_extra" if train else "eval_extra", cfg.train_extra if train else cfg.eval_extra)
    if stats is not None:
        steps.append(v2.Normalize(mean=list(stats[0]), std=list(stats[1])))
    if train and cfg.get("random_erasing"):
        steps.append(v2.RandomErasing(p=float(cfg.random_erasing)))
    return v2.Compose(steps)


POLICIES = {
    "randaugment": "RandAugment",
    "trivialaugment": "TrivialAugmentWide",
    "autoaugment": "AutoAugment",
    "augmix": "AugMix",
}
AUTOAUGMENT_POLICIES = {"imagenet": "IMAGENET", "cifar10": "CIFAR10", "svhn": "SVHN"}


def policy(spec):
    """`{name: randaugment, num_ops: 2, magnitude: 9, ...}`: the v2 policy with those arguments."""
    options = dict(plain(spec))
    name = options.pop("name")  # a name of POLICIES (and autoaugment's policy): checked with the config
    if name == "autoaugment":
        options["policy"] = getattr(v2.AutoAugmentPolicy, AUTOAUGMENT_POLICIES[options.get("policy", "imagenet")])
    try:
        return getattr(v2, POLICIES[name])(**options)
    except TypeError as err:
        raise DlrunError(f"dataset.transforms.auto_augment ({name}): {err}") from err


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
    # else "dataset" (normalize's values are checked with the config)
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
