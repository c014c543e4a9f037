"""Turn raw inputs (image files, table rows) into the tensors a run's model saw at
evaluation, and model outputs into readable predictions."""

from pathlib import Path

import numpy as np
import torch

from dlrun.datasets.file_formats import FORMATS, table_format
from dlrun.datasets.tables import read_table
from dlrun.errors import DlrunError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def load_inputs(paths: list[str], run) -> tuple[list[str], torch.Tensor]:
    """(a name per input, a batch (N, *input_shape)) from image files and/or CSV files."""
    how = run.info.preprocess or {}
    names, tensors = [], []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise DlrunError(f"{raw}: no such file.")
        if is_table(path):
            rows = table_rows(path, how, run.info.input_shape)
            names += [f"{path.name}:{i + 1}" for i in range(len(rows))]
            tensors.append(rows)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            names.append(path.name)
            tensors.append(image_tensor(path, how, run)[None])
        else:
            raise DlrunError(
                f"{raw}: dlrun predicts on image files ({', '.join(IMAGE_SUFFIXES)}) and table rows "
                f"({', '.join(FORMATS)})."
            )
    return names, torch.cat(tensors)


def is_table(path: Path) -> bool:
    try:
        return bool(table_format(path, "input"))
    except DlrunError:
        return False


def table_rows(path: Path, how: dict, input_shape) -> torch.Tensor:
    if how.get("kind") != "table":
        raise DlrunError(f"{path.name}: this run was trained on {how.get('kind', 'unknown')} data, not table rows.")
    frame = read_table(path, "input")
    frame.columns = [str(c) for c in frame.columns]
    features = how.get("features") or list(frame.columns)
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DlrunError(f"{path.name} lacks the column(s) the model was trained on: {', '.join(missing)}.")
    x = frame[features].to_numpy(np.float32)
    if x.shape[1] != input_shape[0]:
        raise DlrunError(f"{path.name} has {x.shape[1]} feature columns; the model takes {input_shape[0]}.")
    return torch.as_tensor((x - np.asarray(how["mean"], np.float32)) / np.asarray(how["std"], np.float32))


def image_tensor(path: Path, how: dict, run) -> torch.Tensor:
    from PIL import Image

    kind = how.get("kind")
    channels, height, width = run.info.input_shape
    with Image.open(path) as image:
        image = image.convert("L" if channels == 1 else "RGB")
        if kind == "array_image":  # images the dataset held as arrays scaled to [0, 1] (digits, dataset=arrays)
            image = image.resize((width, height), Image.BILINEAR)
            array = np.asarray(image, np.float32) / 255.0
            array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)  # (C, H, W)
            return torch.as_tensor((array - how["mean"]) / how["std"])
        if kind != "image":
            raise DlrunError(f"{path.name}: this run was trained on {kind or 'unknown'} data, not images.")
        from dlrun.datasets.transforms import build_transforms

        stats = (how["mean"], how["std"]) if how.get("mean") is not None else None
        from omegaconf import OmegaConf

        from dlrun.datasets.transforms import trained_resize

        transforms = OmegaConf.merge(
            run.cfg.dataset.transforms,
            {"resize": trained_resize(run.cfg.dataset.transforms, how, run.info.input_shape)},
        )
        return build_transforms(transforms, train=False, stats=stats)(image)


def readable(outputs: torch.Tensor, info, thresholds=None) -> list[dict]:
    """A row per input, as the run's task reads its outputs (class and probability, values ...)."""
    from dlrun import tasks

    return tasks.get(info.task).readable(outputs, info, thresholds)
