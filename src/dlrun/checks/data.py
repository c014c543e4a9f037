"""dataset.* (with its transforms and the files and folders it names) and loader.*."""

from pathlib import Path

from dlrun.checks.inputs import named_input_files
from dlrun.checks.values import ABSENT, apply, boolean, import_path, is_int, lookup, number, one_of, size, whole
from dlrun.datasets.file_formats import array_format, table_format
from dlrun.datasets.loader_options import IN_MEMORY_ONE_PROCESS
from dlrun.errors import DlrunError

FRACTION = (number(0, 1, low_open=True, high_open=True), "a fraction between 0 and 1 (exclusive), e.g. 0.15")
FILE_KINDS = {  # the extensions each option reads
    "table": table_format,
    "arrays": array_format,
    "text": table_format,
    "audio_table": table_format,
}


def normalize_ok(v) -> bool:
    return v in ("dataset", "imagenet", "none", None, False) or (isinstance(v, dict) and {"mean", "std"} <= set(v))


def extra_ok(v) -> bool:
    return isinstance(v, list) and all(isinstance(t, dict) and (t.get("_target_") or t.get("class_path")) for t in v)


POLICIES = ("randaugment", "trivialaugment", "autoaugment", "augmix")  # dlrun.datasets.transforms.POLICIES


AUTOAUGMENT_POLICIES = ("imagenet", "cifar10", "svhn")  # dlrun.datasets.transforms.AUTOAUGMENT_POLICIES


def policy_ok(v) -> bool:
    return v is None or (
        isinstance(v, dict)
        and v.get("name") in POLICIES
        and (v["name"] != "autoaugment" or v.get("policy", "imagenet") in AUTOAUGMENT_POLICIES)
    )


AUTO_OR_BOOL = (lambda v: v == "auto" or isinstance(v, bool), "auto, true or false")
PROBABILITY = number(0, 1, low_open=True, high_open=True)


def thresholds_ok(v) -> bool:
    return v == "tune" or PROBABILITY(v) or (isinstance(v, list) and len(v) > 0 and all(map(PROBABILITY, v)))


RULES = [
    (
        "dataset.url",
        lambda v: isinstance(v, str) and bool(v.strip()),
        "a folder, or an http(s) or s3:// address of shards",
    ),
    ("dataset.shuffle_window", whole(1), "a whole number of shards >= 1"),
    ("dataset.cache_shards", whole(1), "a whole number of shards >= 1"),
    (
        "task.thresholds",
        thresholds_ok,
        "a probability between 0 and 1 (0.5), a list with one per label, or tune (per label, on the validation split)",
    ),
    ("dataset.val_fraction", *FRACTION),
    ("dataset.test_fraction", *FRACTION),
    ("dataset.download", boolean, "true or false"),
    ("dataset.skip_bad_files", boolean, "true or false"),
    ("dataset.n_samples", whole(20), "a whole number >= 20"),
    ("dataset.n_features", whole(2), "a whole number >= 2"),
    ("dataset.n_classes", whole(2), "a whole number >= 2"),
    ("dataset.noise", number(0), "a number >= 0"),
    ("dataset.num_classes", whole(2, allow_none=True), "null or a whole number >= 2"),
    ("dataset.layout", one_of("auto", "channels_first", "channels_last"), "auto, channels_first or channels_last"),
    ("dataset.class_path", import_path, "module.Name, e.g. my_data.MyDataset"),
    ("dataset.transforms.resize", size(allow_auto=True), "auto, null, a size or [height, width]"),
    ("dataset.transforms.random_crop", size(), "null, a size or [height, width]"),
    ("dataset.transforms.crop_padding", whole(0), "a whole number of pixels >= 0"),
    ("dataset.transforms.horizontal_flip", boolean, "true or false"),
    ("dataset.transforms.normalize", normalize_ok, "dataset, imagenet, none or {mean: [...], std: [...]}"),
    (
        "dataset.transforms.train_extra",
        extra_ok,
        "a list of transforms, each with a _target_ (or class_path), e.g. [{_target_: torchvision.transforms.v2.RandomRotation, degrees: 10}]",
    ),
    (
        "dataset.transforms.auto_augment",
        policy_ok,
        "null or {name: randaugment | trivialaugment | autoaugment | augmix, ...its options} "
        "(autoaugment's policy: imagenet, cifar10 or svhn)",
    ),
    ("dataset.transforms.random_erasing", number(0, 1), "a probability from 0 to 1, e.g. 0.25"),
    ("dataset.transforms.mixup_alpha", number(0), "a number >= 0 (0: off), e.g. 0.2"),
    ("dataset.transforms.cutmix_alpha", number(0), "a number >= 0 (0: off), e.g. 1.0"),
    ("dataset.transforms.mix_switch_prob", number(0, 1), "a probability from 0 to 1"),
    ("dataset.transforms.mix_prob", number(0, 1), "a probability from 0 to 1"),
    ("dataset.transforms.eval_extra", extra_ok, "a list of transforms, each with a _target_"),
    ("dataset.label_sep", lambda v: v is None or (isinstance(v, str) and v != ""), "null or a separator, e.g. '|'"),
    (
        "dataset.targets",
        lambda v: v is None or (isinstance(v, list) and len(v) >= 2 and len(set(map(str, v))) == len(v)),
        "null or a list of two or more different columns, e.g. [cat, dog, bird]",
    ),
    ("dataset.labels_file", lambda v: v is None or isinstance(v, str), "null or a CSV file of image,labels rows"),
    (
        "dataset.ignore_index",
        lambda v: v is None or (is_int(v) and 0 <= v <= 255),
        "a mask value from 0 to 255 (255 as in VOC), or null",
    ),
    ("dataset.transforms.photometric", boolean, "true or false"),
    ("dataset.transforms.zoom_out", boolean, "true or false"),
    ("dataset.transforms.iou_crop", boolean, "true or false"),
    ("dataset.annotations", lambda v: isinstance(v, str) and v != "", "a COCO JSON file (a path, or a name in root)"),
    ("dataset.val_annotations", lambda v: v is None or isinstance(v, str), "null or a COCO JSON file"),
    ("dataset.test_annotations", lambda v: v is None or isinstance(v, str), "null or a COCO JSON file"),
    ("loader.shuffle", boolean, "true or false"),
    ("loader.drop_last", boolean, "true or false"),
    ("loader.num_workers", lambda v: v == "auto" or whole(0)(v), "auto or a whole number >= 0"),
    ("loader.pin_memory", *AUTO_OR_BOOL),
    ("loader.persistent_workers", *AUTO_OR_BOOL),
    ("loader.prefetch_factor", whole(1, allow_none=True), "null or a whole number >= 1"),
    ("loader.in_memory", *AUTO_OR_BOOL),
]


def task_problems(cfg, name) -> list[str]:
    """task=... (or dataset.task where a data set has it) is a known task, and one the data set
    can be: a bundled set is what it is (digits: classification)."""
    from dlrun import tasks
    from dlrun.datasets.catalog import possible_tasks

    valid = ("auto", *tasks.TASKS)
    found = []
    for key in ("task.name", "dataset.task"):
        value = lookup(cfg, key)
        if value is not ABSENT and value not in valid:
            where = "task" if key == "task.name" else key
            found.append(f"{where}={value!r} is not valid: use {', '.join(valid)}.")
    chosen, can = lookup(cfg, "task.name"), possible_tasks(name)
    if chosen in tasks.TASKS and can and chosen not in can:
        either = ", ".join(can[:-1]) + f" or {can[-1]}" if len(can) > 1 else can[0]
        hint = {
            "segmentation": " Segmentation takes images with masks: dataset=segmentation_folder, or your own Dataset "
            "(dataset=custom).",
            "detection": " Detection takes images with boxes: dataset=coco, dataset=yolo, or your own Dataset "
            "(dataset=custom).",
        }.get(chosen, "")
        found.append(
            f"task={chosen} does not fit dataset={name}, a {either} data set: use task=auto (or {either}).{hint}"
        )
    return found


MULTILABEL_KEYS = ("dataset.targets", "dataset.label_sep", "dataset.labels_file")


def multilabel_problems(cfg, name) -> list[str]:
    """The keys that give multi-label data and task=multilabel go together."""
    from omegaconf import OmegaConf

    task = lookup(cfg, "task.name")
    given = [
        k
        for k in MULTILABEL_KEYS
        if lookup(cfg, k) not in (None, ABSENT) and (k != "dataset.label_sep" or name != "image_folder")
    ]
    if given and task != "multilabel":
        return [f"{given[0]} gives multi-label data: add task=multilabel (task is {task})."]
    if task != "multilabel":
        return []
    if name in ("table", "csv"):
        several, sep = lookup(cfg, "dataset.targets"), lookup(cfg, "dataset.label_sep")
        one = not OmegaConf.is_missing(cfg.dataset, "target")
        if several and (sep is not None or one):
            return [
                "dataset.targets names 0/1 columns; dataset.target (with dataset.label_sep) a column of label "
                "lists: give one of the two."
            ]
        if not several and sep is None:
            return [
                "task=multilabel reads several labels per row: set dataset.label_sep='|' (the separator in the "
                "dataset.target column, e.g. cat|dog), or name 0/1 columns with dataset.targets=[cat, dog, bird]."
            ]
    if name == "image_folder" and lookup(cfg, "dataset.labels_file") in (None, ABSENT):
        return [
            "task=multilabel on an image folder reads the labels from a file: set dataset.labels_file=labels.csv "
            "(rows image,labels, e.g. 001.png,cat|dog; images relative to dataset.root)."
        ]
    return []


def segmentation_problems(cfg) -> list[str]:
    """What segmentation does not take yet: image policies and random erasing move or erase only
    the image, not its mask."""
    if lookup(cfg, "task.name") != "segmentation" and lookup(cfg, "dataset.name") != "segmentation_folder":
        return []
    found = []
    for key in ("dataset.transforms.auto_augment", "dataset.transforms.random_erasing"):
        if lookup(cfg, key) not in (None, ABSENT, 0, 0.0):
            found.append(f"{key} is not for segmentation: it would change the image without its mask.")
    return found


DETECTION_SETS = ("coco", "yolo")
ROOT_FOLDERS = ("image_folder", "segmentation_folder", *DETECTION_SETS, "text", "audio_folder", "audio_table")
NOT_FOR_BOXES = {  # transforms that would move or change the image without its boxes, or normalise twice
    "dataset.transforms.random_crop": "crops the image without its boxes: use dataset.transforms.iou_crop=true",
    "dataset.transforms.auto_augment": "changes the image without its boxes",
    "dataset.transforms.random_erasing": "erases objects without their boxes",
    "dataset.transforms.mixup_alpha": "mixes class labels, not boxes",
    "dataset.transforms.cutmix_alpha": "mixes class labels, not boxes",
}


def detection_problems(cfg, name) -> list[str]:
    """What a detection run does not take: image-only augmentation, and normalisation (the
    detector normalises its inputs itself)."""
    if lookup(cfg, "task.name") != "detection" and name not in DETECTION_SETS:
        return []
    found = [
        f"{key} is not for detection: it {why}."
        for key, why in NOT_FOR_BOXES.items()
        if lookup(cfg, key) not in (None, ABSENT, 0, 0.0)
    ]
    normalize = lookup(cfg, "dataset.transforms.normalize")
    if normalize not in (None, ABSENT, "none", False):
        found.append(
            f"dataset.transforms.normalize={normalize!r} is not for detection: torchvision's detectors normalise "
            "their inputs themselves (model.kwargs={image_mean: [...], image_std: [...]}); keep it none "
            "(dataset/transforms=detection: the detection defaults)."
        )
    swa = lookup(cfg, "trainer.swa.start_epoch")
    if swa not in (None, ABSENT):
        found.append(
            "trainer.swa is not for detection yet: its BatchNorm update passes batches of tensors, not lists of "
            "images with boxes. Use trainer.ema.decay=0.9998 for averaged weights."
        )
    return found


def data_problems(cfg, files: bool = True) -> list[str]:
    found = apply(cfg, RULES)
    dataset = cfg.dataset
    name = dataset.get("name")
    found += task_problems(cfg, name) + multilabel_problems(cfg, name) + segmentation_problems(cfg)
    found += detection_problems(cfg, name)
    val, test = lookup(cfg, "dataset.val_fraction"), lookup(cfg, "dataset.test_fraction")
    if all(FRACTION[0](v) for v in (val, test)) and val + test >= 1:
        found.append(
            f"dataset.val_fraction={val} and dataset.test_fraction={test} leave nothing to train on: "
            "together they must be below 1."
        )
    if files:
        found += named_paths(cfg)
    found += loader_problems(cfg) + shard_address_problems(cfg)
    return found


def shard_address_problems(cfg) -> list[str]:
    """dataset.url=s3://... needs boto3 (extra dlrun[s3]), said before anything is read."""
    url = lookup(cfg, "dataset.url") if lookup(cfg, "dataset.name") == "shards" else None
    if isinstance(url, str) and url.startswith("s3://"):
        from importlib.util import find_spec

        if not url.removeprefix("s3://").split("/")[0]:
            return [f"dataset.url={url} names no bucket: s3://BUCKET/PREFIX."]
        from dlrun.datasets.shards.reading import S3_NEEDS  # os, urllib: nothing heavy

        if find_spec("boto3") is None:
            return [f"dataset.url={url}: {S3_NEEDS}"]
    return []


def loader_problems(cfg) -> list[str]:
    """What one loader.* key needs of another, and of the number of processes."""
    workers, prefetch = lookup(cfg, "loader.num_workers"), lookup(cfg, "loader.prefetch_factor")
    persistent, in_memory = lookup(cfg, "loader.persistent_workers"), lookup(cfg, "loader.in_memory")
    found = []
    if prefetch not in (None, ABSENT) and workers == 0:
        found.append("loader.prefetch_factor needs worker processes: set loader.num_workers >= 1 too.")
    if persistent is True and workers == 0:
        found.append("loader.persistent_workers=true needs worker processes: set loader.num_workers >= 1 too.")
    if in_memory is True and is_int(workers) and workers > 0:
        found.append(
            f"loader.in_memory=true batches tensors in the training process: it takes no DataLoader "
            f"workers (loader.num_workers={workers}); set loader.num_workers=0 or auto."
        )
    devices, nodes = lookup(cfg, "trainer.devices"), lookup(cfg, "trainer.num_nodes")
    several = (is_int(devices) and devices > 1) or (is_int(nodes) and nodes > 1)
    if in_memory is True and several:
        found.append(IN_MEMORY_ONE_PROCESS)
    return found


def named_paths(cfg) -> list[str]:
    """The files and folders the dataset names exist."""
    name = cfg.dataset.get("name")
    found = []
    for key, want_dir in (("path", False), ("targets_path", False), ("root", True)):
        value = lookup(cfg, f"dataset.{key}")
        if value is ABSENT or not isinstance(value, str) or (key == "root" and name not in ROOT_FOLDERS):
            continue  # torchvision sets' root is a download folder: it need not exist yet
        path = Path(value).expanduser()
        if want_dir and not path.is_dir():
            what = "is a file, not a folder" if path.exists() else f"no such folder (looked in {path.resolve()})"
            found.append(f"dataset.root={value!r}: {what}.")
        elif not want_dir and not path.is_file():
            what = "is a folder, not a file" if path.exists() else f"no such file (looked in {path.resolve()})"
            found.append(f"dataset.{key}={value!r}: {what}.")
        elif not want_dir and name in FILE_KINDS:
            try:
                FILE_KINDS[name](path, f"dataset.{key}")
            except DlrunError as err:
                found.append(str(err))
    if name == "coco" and not found:
        found += coco_files(cfg)
    if not found:
        found += named_input_files(cfg)
    return found


def coco_files(cfg) -> list[str]:
    """The COCO files exist: a path, or a name in dataset.root (val_root, test_root for their splits)."""
    found = []
    for key in ("annotations", "val_annotations", "test_annotations"):
        value = lookup(cfg, f"dataset.{key}")
        if not isinstance(value, str):
            continue
        folder = lookup(cfg, f"dataset.{key.split('_')[0]}_root") if key != "annotations" else None
        root = Path(str(folder if isinstance(folder, str) else lookup(cfg, "dataset.root"))).expanduser()
        path = Path(value).expanduser()
        if not path.is_file() and not (root / path).is_file():
            found.append(f"dataset.{key}={value!r}: no such file (looked in {root.resolve()} and {Path.cwd()}).")
    return found
