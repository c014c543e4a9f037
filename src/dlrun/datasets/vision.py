"""Image data: torchvision's data sets and image folders, with train/eval transforms.

The base datasets yield PIL images; `image_bundle` splits them with the seed and
puts the training or evaluation pipeline in front of each split.
"""

import logging
from pathlib import Path

from torch.utils.data import Dataset, TensorDataset
from torchvision import datasets as tvd

from dlrun.datasets import batch_augment, image_files
from dlrun.datasets.info import CLASSIFICATION, MULTILABEL, DataBundle, DataInfo
from dlrun.datasets.splits import configured_split
from dlrun.datasets.transforms import Transformed, build_transforms, normalisation, resolve_resize
from dlrun.errors import DlrunError

log = logging.getLogger("dlrun")

# name -> torchvision class; all have an official test split
TORCHVISION_SETS = {
    "mnist": tvd.MNIST,
    "fashion_mnist": tvd.FashionMNIST,
    "kmnist": tvd.KMNIST,
    "cifar10": tvd.CIFAR10,
    "cifar100": tvd.CIFAR100,
    "svhn": tvd.SVHN,
}


def image_bundle(
    cfg,
    train_base: Dataset,
    labels,
    class_names,
    *,
    val_base: Dataset | None = None,
    test_base: Dataset | None = None,
    in_memory: bool = False,
    task: str = CLASSIFICATION,
) -> DataBundle:
    """Split `train_base` for whatever split is missing, estimate normalisation on the
    training part, and wrap each split in its pipeline. `labels`: class ids to stratify the
    split by (None: not stratified); `class_names`: the classes, or the labels (multilabel)."""
    train_idx, val_idx, test_idx = configured_split(
        cfg,
        len(train_base),
        labels if task == CLASSIFICATION else None,
        has_val=val_base is not None,
        has_test=test_base is not None,
    )
    transforms = resolve_resize(cfg.transforms, train_base, train_idx, cfg.split_seed, log.info)
    plain = build_transforms(transforms, train=False, stats=None)
    stats = normalisation(transforms, Transformed(train_base, train_idx, plain), cfg.split_seed)
    train_pipeline = build_transforms(transforms, train=True, stats=stats)
    eval_pipeline = build_transforms(transforms, train=False, stats=stats)
    train = Transformed(train_base, train_idx, train_pipeline)
    val = (
        Transformed(val_base, None, eval_pipeline)
        if val_base is not None
        else Transformed(train_base, val_idx, eval_pipeline)
    )
    test = (
        Transformed(test_base, None, eval_pipeline)
        if test_base is not None
        else Transformed(train_base, test_idx, eval_pipeline)
    )
    input_shape = tuple(val[0][0].shape)  # (C, H, W) after the evaluation pipeline
    preprocess = {
        "kind": "image",
        "mean": list(stats[0]) if stats else None,
        "std": list(stats[1]) if stats else None,
        "resize": as_plain(transforms.resize),
    }  # as resolved (resize: auto), for predict and export
    info = DataInfo(task, len(class_names), input_shape, tuple(str(c) for c in class_names), preprocess=preprocess)
    if in_memory and not random_steps(transforms):  # every epoch would compute the same tensors: once is enough
        train, val, test = (as_tensors(split) for split in (train, val, test))
    elif in_memory and batch_augment.batchable(transforms):  # crop and flip: per batch, on the device
        train = augmented_tensors(transforms, Transformed(train_base, train_idx), stats)
        val, test = as_tensors(val), as_tensors(test)
    return DataBundle(train, val, test, info=info, in_memory=in_memory)


def augmented_tensors(transforms, train: Transformed, stats) -> batch_augment.AugmentedTensors:
    """The training images resized once, their random crop, flip and normalisation left to
    BatchAugment."""
    from omegaconf import OmegaConf

    resize_only = OmegaConf.create(OmegaConf.to_container(transforms))
    resize_only.random_crop, resize_only.eval_extra = None, []
    train.transform = build_transforms(resize_only, train=False, stats=None)
    images, targets = as_tensors(train).tensors
    return batch_augment.AugmentedTensors(
        images,
        targets,
        batch_augment.BatchAugment(
            batch_augment.crop_size(transforms.get("random_crop")),
            transforms.get("crop_padding"),
            bool(transforms.get("horizontal_flip")),
            stats,
        ),
    )


def random_steps(transforms) -> bool:
    """Whether the training pipeline draws random numbers (crop, flip, a policy, erasing, the user's own steps)."""
    return bool(
        transforms.get("random_crop")
        or transforms.get("horizontal_flip")
        or transforms.get("train_extra")
        or transforms.get("auto_augment")
        or transforms.get("random_erasing")
    )


def as_tensors(split: Dataset) -> TensorDataset:
    """A split through its (deterministic) pipeline once: the tensors a DataLoader would collate."""
    import torch

    inputs, targets = zip(*(split[i] for i in range(len(split))))
    targets = torch.stack(targets) if torch.is_tensor(targets[0]) else torch.as_tensor(targets)  # multi-hot rows
    return TensorDataset(torch.stack([x.as_subclass(torch.Tensor) for x in inputs]), targets)


def as_plain(value):
    """A config value as plain Python (checkpoints load with weights_only: no OmegaConf types)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


# ---- torchvision's data sets -------------------------------------------------------


def torchvision_set(name: str, cfg) -> DataBundle:
    cls = TORCHVISION_SETS[name]
    root = Path(str(cfg.root)).expanduser()
    train_base = _open(cls, name, root, cfg.download, train=True)
    test_base = _open(cls, name, root, cfg.download, train=False)
    labels = train_base.labels if name == "svhn" else train_base.targets
    classes = getattr(train_base, "classes", None) or [str(d) for d in range(10)]
    return image_bundle(cfg, train_base, labels, classes, test_base=test_base)


def _open(cls, name: str, root: Path, download: bool, *, train: bool):
    split = {"split": "train" if train else "test"} if name == "svhn" else {"train": train}
    try:
        return cls(root=str(root), download=download, **split)
    except (RuntimeError, OSError, ValueError) as err:  # files missing or corrupt; download failed
        folder, files, url = expected_files(cls, name, root)
        how = (
            f"Download {url} and place the files there, or run once with network access and dataset.download=true."
            if not download
            else f"The download failed ({err}). Without network access, download {url} elsewhere "
            f"and place the files there."
        )
        raise DlrunError(
            f"dataset={name}: files not found or incomplete in {folder}.\n"
            f"Expected: {', '.join(files)}\n{how}\n"
            f"Change the folder with dataset.root=... or the DLRUN_DATA_DIR environment variable."
        ) from err


def expected_files(cls, name: str, root: Path) -> tuple[Path, list[str], str]:
    """(folder, file names, download address) of a torchvision data set's on-disk layout."""
    if name == "svhn":
        return (
            root,
            [entry[1] for entry in cls.split_list.values() if entry[1] != "extra_32x32.mat"],
            " and ".join(entry[0] for key, entry in cls.split_list.items() if key != "extra"),
        )
    if hasattr(cls, "resources"):  # the MNIST family: raw IDX files
        files = [Path(url).name.removesuffix(".gz") for url, _ in cls.resources]
        return root / cls.__name__ / "raw", files, f"{cls.mirrors[0]}<file>.gz (then gunzip)"
    files = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
    return root / cls.base_folder, files, f"{cls.url} (unpack it into {root})"


# ---- a folder of images ------------------------------------------------------------


def image_folder(cfg) -> DataBundle:
    root = Path(str(cfg.root)).expanduser()  # an existing folder: checked with the config
    if cfg.get("labels_file"):
        return labelled_images(cfg, root)
    parts = {split: root / split for split in ("train", "val", "test") if (root / split).is_dir()}
    if parts and "train" not in parts:
        raise DlrunError(
            f"{root} has {', '.join(p + '/' for p in parts)} but no train/ folder: "
            "add train/, or put the class folders directly in the root."
        )
    skip_bad = cfg.get("skip_bad_files", False)
    train_base = _folder(parts.get("train", root), skip_bad)
    classes = train_base.classes
    others = {split: _folder(path, skip_bad) for split, path in parts.items() if split != "train"}
    for split, folder in others.items():
        if folder.classes != classes:
            raise DlrunError(
                f"{root / split} has classes {folder.classes}, but {root / 'train'} has {classes}: "
                "every split needs the same class folders."
            )
    if len(classes) < 2:
        raise DlrunError(f"{root} has one class folder ({classes[0]}): classification needs at least two.")
    log.info("image_folder: %d classes, %d training images", len(classes), len(train_base))
    decoded = image_files.in_memory([train_base, *others.values()], cfg.split_seed)
    if decoded:  # small images: no worker processes, they would only add overhead
        train_base, others = decoded[0], dict(zip(others, decoded[1:]))
    return image_bundle(
        cfg,
        train_base,
        train_base.targets,
        classes,
        val_base=others.get("val"),
        test_base=others.get("test"),
        in_memory=bool(decoded) and all(d.small for d in decoded),
    )


def _folder(path: Path, skip_bad_files: bool) -> tvd.ImageFolder:
    try:
        folder = tvd.ImageFolder(str(path), loader=image_files.read_image)
        if skip_bad_files:
            image_files.drop_bad_files(folder)
        return folder
    except FileNotFoundError as err:
        raise DlrunError(
            f"{path} holds no images in class folders ({err}). Expected {path}/<class>/<image>.png "
            f"(extensions: {', '.join(sorted(e.lstrip('.') for e in tvd.folder.IMG_EXTENSIONS))})."
        ) from err


def labelled_images(cfg, root: Path) -> DataBundle:
    """Multi-label: the images a labels file names (rows image,labels), split with the seed."""
    folder = image_files.LabelledFiles(root, Path(str(cfg.labels_file)).expanduser(), str(cfg.get("label_sep") or "|"))
    if cfg.get("skip_bad_files", False):
        image_files.drop_bad_files(folder)
    log.info("image_folder: %d labels, %d images", len(folder.classes), len(folder))
    decoded = image_files.in_memory([folder], cfg.split_seed)
    return image_bundle(
        cfg,
        decoded[0] if decoded else folder,
        None,
        folder.classes,
        in_memory=bool(decoded) and decoded[0].small,
        task=MULTILABEL,
    )
