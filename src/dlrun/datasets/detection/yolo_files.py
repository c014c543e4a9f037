"""`dataset=yolo`: YOLO's layout (Ultralytics, Darknet). Each image `.../images/<name>.<ext>` has
its labels in `.../labels/<name>.txt`, one line per box: `class cx cy w h`, the centre and size
normalised to the image (0 .. 1); an image without a labels file (or with an empty one) has no
objects. `root/data.yaml` names the classes (`names: [a, b]` or `{0: a, 1: b}`) and may give
the splits' image folders (`train: images/train`, `val: images/val`, `test: ...`, relative to
its `path` or to root); without them, `root/images` is split with the seed.
"""

from pathlib import Path

import numpy as np

from dlrun.datasets.detection.bundle import files_bundle
from dlrun.datasets.detection.samples import Annotated, read_sizes
from dlrun.errors import DlrunError, plural

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def yolo(cfg):
    root = Path(str(cfg.root)).expanduser()
    spec = read_data_yaml(root)
    classes = class_names(root, spec)
    base = root / str(spec.get("path") or ".")
    folders = {split: base / str(spec[split]) for split in ("train", "val", "test") if spec.get(split)}
    if folders and "train" not in folders:
        raise DlrunError(f"{root / 'data.yaml'} names {', '.join(folders)} but no train: folder of images.")
    folders = folders or {"train": root / "images"}
    splits = {split: read_folder(folder, len(classes)) for split, folder in folders.items()}
    return files_bundle(
        cfg, splits["train"], classes, list(range(len(classes))), val=splits.get("val"), test=splits.get("test")
    )


def read_data_yaml(root: Path) -> dict:
    path = root / "data.yaml"
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise DlrunError(f"{path} is not YAML ({str(err).splitlines()[0]}).") from err
    if not isinstance(data, dict):
        raise DlrunError(f"{path} is not a mapping: it holds names: [...] (and train:, val: folders).")
    return data


def class_names(root: Path, spec: dict) -> list[str]:
    """data.yaml's names (a list, or {index: name}), else classes.txt's lines."""
    names = spec.get("names")
    if isinstance(names, dict):
        try:
            names = [names[i] for i in range(len(names))]
        except KeyError:
            raise DlrunError(f"{root / 'data.yaml'}: names are keyed 0 .. {len(names) - 1}, one per class.") from None
    if names is None and (root / "classes.txt").is_file():
        names = [line.strip() for line in (root / "classes.txt").read_text().splitlines() if line.strip()]
    if not isinstance(names, list) or not names:
        raise DlrunError(
            f"{root} names no classes: add data.yaml with `names: [cat, dog]` (class 0, 1 ...) or classes.txt."
        )
    return [str(n) for n in names]


def labels_path(image: Path) -> Path:
    """YOLO's rule: the last `images` folder of the path becomes `labels`, the suffix .txt."""
    parts = list(image.parts)
    where = max(i for i, part in enumerate(parts) if part == "images")
    parts[where] = "labels"
    return Path(*parts).with_suffix(".txt")


def read_folder(folder: Path, classes: int) -> list[Annotated]:
    if not folder.is_dir():
        raise DlrunError(f"{folder}: no such folder of images (YOLO's images/, with labels/ beside it).")
    images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not images:
        raise DlrunError(f"{folder} holds no images ({', '.join(IMAGE_EXTENSIONS)}).")
    if "images" not in images[0].parts:
        raise DlrunError(f"{folder}: YOLO images live in an images/ folder, their labels in labels/ beside it.")
    sizes = read_sizes([str(p) for p in images])
    return [read_labels(image, size, classes) for image, size in zip(images, sizes)]


def read_labels(image: Path, size: tuple[int, int], classes: int) -> Annotated:
    """The image's boxes in pixels (x1 y1 x2 y2) from its normalised `class cx cy w h` lines."""
    path = labels_path(image)
    rows = []
    lines = path.read_text().splitlines() if path.is_file() else []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}, line {number}"
        if len(fields) != 5:
            raise DlrunError(
                f"{where} has {plural(len(fields), 'number')}: a YOLO box is `class cx cy w h` (5 numbers, "
                "the centre and size normalised to the image)."
                + (" Polygon (segmentation) labels are not boxes." if len(fields) > 5 else "")
            )
        try:
            label, values = int(fields[0]), [float(v) for v in fields[1:]]
        except ValueError:
            raise DlrunError(
                f"{where}: {line.strip()!r} is not `class cx cy w h` (a whole number, then 4 numbers)."
            ) from None
        if not 0 <= label < classes:
            raise DlrunError(
                f"{where}: class {label} is not one of the {plural(classes, 'class')} (0 .. {classes - 1})."
            )
        rows.append((number, label, values))
    height, width = size
    cxcywh = np.array([v for _, _, v in rows], dtype=np.float64).reshape(-1, 4) * [width, height, width, height]
    boxes = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1)
    return Annotated(
        str(image),
        boxes.astype(np.float32),
        np.array([label for _, label, _ in rows], dtype=np.int64),
        size,
        [f"line {n}" for n, _, _ in rows],
    )
