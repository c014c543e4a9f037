"""`dataset=coco`: images and a COCO JSON file (the `instances_*.json` of COCO's detection
task): `images` (id, file_name, width, height), `annotations` (image_id, category_id, bbox
[x, y, width, height] in pixels, iscrowd), `categories` (id, name). One file is split with the
seed; `dataset.val_annotations` / `test_annotations` give those splits their own files.
Crowd annotations (iscrowd=1) are left out of training, as torchvision's references do.
"""

import json
from pathlib import Path

import numpy as np

from dlrun.datasets.detection.bundle import files_bundle
from dlrun.datasets.detection.samples import Annotated, read_sizes
from dlrun.errors import DlrunError


def coco(cfg):
    root = Path(str(cfg.root)).expanduser()
    train, classes, ids = read(root, cfg.annotations, "dataset.annotations")
    splits = {}
    for split in ("val", "test"):
        spec = cfg.get(f"{split}_annotations")
        if spec is not None:
            images = Path(str(cfg.get(f"{split}_root") or root)).expanduser()
            splits[split], _, _ = read(images, spec, f"dataset.{split}_annotations", ids)
    return files_bundle(cfg, train, classes, ids, val=splits.get("val"), test=splits.get("test"))


def annotation_file(root: Path, spec) -> Path:
    """The JSON file: a path, or a name in dataset.root."""
    path = Path(str(spec)).expanduser()
    return path if path.is_absolute() or path.is_file() else root / path


def read(root: Path, spec, key: str, category_ids: list[int] | None = None):
    """(samples, class names, category ids) of one COCO file; `category_ids`: the training file's
    (every other file's categories must be among them)."""
    path = annotation_file(root, spec)
    if not path.is_file():
        raise DlrunError(f"{key}={str(spec)!r}: no such file (looked in {path.resolve()}).")
    try:
        data = json.loads(path.read_text())
        images, annotations, categories = data["images"], data.get("annotations", []), data["categories"]
        names = {int(c["id"]): str(c["name"]) for c in categories}
        entries = [(int(i["id"]), str(i["file_name"])) for i in images]
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DlrunError(f"{path} is not a JSON file ({err}).") from err
    except (KeyError, TypeError, ValueError) as err:
        raise DlrunError(
            f"{path} is not a COCO detection file ({type(err).__name__}: {err}): it needs images (id, "
            "file_name), annotations (image_id, category_id, bbox) and categories (id, name)."
        ) from err
    ids = category_ids or sorted(names)
    if len(ids) < 1:
        raise DlrunError(f"{path} has no categories: name the classes in its categories list.")
    index = {category: i for i, category in enumerate(ids)}
    boxes = {image_id: [] for image_id, _ in entries}
    for position, a in enumerate(annotations):
        where = f"{path.name}: annotation {a.get('id', position + 1)}"
        if a.get("image_id") not in boxes:
            raise DlrunError(f"{where} is of image_id {a.get('image_id')!r}, which is not among the file's images.")
        if a.get("category_id") not in index:
            known = ", ".join(f"{i} ({names.get(i, '?')})" for i in ids)
            raise DlrunError(
                f"{where} has category_id {a.get('category_id')!r}, which is not among the categories: {known}."
            )
        bbox = a.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
            raise DlrunError(f"{where} has bbox {bbox!r}: a box is [x, y, width, height] in pixels.")
        if a.get("iscrowd", 0):
            continue
        boxes[a["image_id"]].append((a.get("id", position + 1), index[a["category_id"]], bbox))
    if not entries:
        raise DlrunError(f"{path} lists no images.")
    paths = [str(root / name) for _, name in entries]
    sizes = read_sizes(paths)
    samples = []
    for (image_id, _), file, size in zip(entries, paths, sizes):
        found = boxes[image_id]
        xywh = np.array([b for _, _, b in found], dtype=np.float64).reshape(-1, 4)
        samples.append(
            Annotated(
                file,
                np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1).astype(np.float32),
                np.array([label for _, label, _ in found], dtype=np.int64),
                size,
                [f"annotation {a}" for a, _, _ in found],
            )
        )
    samples.sort(key=lambda s: s.path)  # the file's order of images does not change the split
    return samples, [names.get(i, str(i)) for i in ids], ids
