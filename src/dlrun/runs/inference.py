"""Turn raw inputs (image files, table rows) into the tensors a run's model saw at
evaluation, and model outputs into readable predictions."""

from pathlib import Path

import numpy as np
import torch

from dlrun.datasets.file_formats import FORMATS, table_format
from dlrun.datasets.tables import read_table
from dlrun.errors import DlrunError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def load_inputs(paths: list[str], run, texts: list[str] = ()) -> tuple[list[str], torch.Tensor]:
    """(a name per input, a batch (N, *input_shape)) from image files, audio files and/or table
    rows; for a text run a TextBatch of `texts` (--text), text files' lines and table rows."""
    how = run.info.preprocess or {}
    if how.get("kind") == "text":
        return text_inputs(paths, texts, how)
    if texts:
        raise DlrunError(f"--text: this run was trained on {how.get('kind', 'unknown')} data, not text.")
    names, tensors = [], []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise DlrunError(f"{raw}: no such file.")
        if how.get("kind") == "audio":
            names.append(path.name)
            tensors.append(audio_tensor(path, how)[None])
        elif is_table(path):
            rows = table_rows(path, how, run.info.input_shape)
            names += [f"{path.name}:{i + 1}" for i in range(len(rows))]
            tensors.append(rows)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            names.append(path.name)
            tensors.append(image_tensor(path, how, run)[None])
        else:
            raise DlrunError(
                f"{raw}: dlrun predicts on image files ({', '.join(IMAGE_SUFFIXES)}) and table rows "
                f"({', '.join(FORMATS)}), text and audio files for text and audio runs."
            )
    if not tensors:
        raise DlrunError("nothing to predict: give input files (or --text for a text run).")
    return names, torch.cat(tensors)


def text_inputs(paths: list[str], texts: list[str], how: dict):
    """Texts from --text, the lines of text files and the rows of tables (the run's text
    column(s)), tokenised with the run's own tokenizer into one padded TextBatch."""
    from tokenizers import Tokenizer

    from dlrun.datasets.text.reading import decode
    from dlrun.datasets.text.samples import pad
    from dlrun.datasets.text.tokenizer import encode

    names, items = [], []
    for i, text in enumerate(texts):
        if not text.strip():
            raise DlrunError(f"--text number {i + 1} is empty: give the text to classify.")
        names.append(f"text {i + 1}")
        items.append(text.strip())
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise DlrunError(f"{raw}: no such file.")
        if is_table(path):
            rows = table_texts(path, how)
            names += [f"{path.name}:{i + 1}" for i in range(len(rows))]
            items += rows
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            raise DlrunError(
                f"{raw}: this run was trained on text; give --text, text files (a text per line) or tables."
            )
        lines = [
            (n, line.strip()) for n, line in enumerate(decode(path, "utf-8", hint="").splitlines(), 1) if line.strip()
        ]
        names += [f"{path.name}:{n}" for n, _ in lines]
        items += [line for _, line in lines]
    if not items:
        raise DlrunError("nothing to predict: give texts with --text, or text files (a text per line) or tables.")
    tokenizer = Tokenizer.from_str(how["tokenizer"])
    ids = [torch.as_tensor(i, dtype=torch.int64) for i in encode(tokenizer, items)]
    return names, pad(ids, how["pad_id"])


def table_texts(path: Path, how: dict) -> list:
    frame = read_table(path, "input")
    frame.columns = [str(c) for c in frame.columns]
    columns = how.get("columns") or ["text"]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DlrunError(f"{path.name} lacks the text column(s) the model was trained on: {', '.join(missing)}.")
    from dlrun.datasets.text.reading import cells, joined

    return joined(cells(frame, columns))


def audio_tensor(path: Path, how: dict) -> torch.Tensor:
    """An audio file as the run's model saw a clip in evaluation: decoded, mono, resampled,
    the centre window, its features standardised (dlrun.datasets.audio)."""
    from dlrun.datasets.audio.clips import ClipFeatures
    from dlrun.datasets.audio.decoding import AUDIO_SUFFIXES, read_clip

    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise DlrunError(f"{path}: this run was trained on audio; give audio files ({', '.join(AUDIO_SUFFIXES)}).")
    return ClipFeatures(how)(torch.from_numpy(read_clip(path, how["sample_rate"])))


def write_tokenizer(info, folder: Path) -> Path | None:
    """A text run's tokenizer as tokenizer.json in `folder` (the run, an export): the file
    `tokenizers.Tokenizer.from_file` reads. None for other runs."""
    how = info.preprocess or {}
    if how.get("kind") != "text":
        return None
    from dlrun.engine.checkpoint import atomic_write

    path = Path(folder) / "tokenizer.json"
    data = how["tokenizer"].encode()
    atomic_write(path, lambda f: f.write(data))
    return path


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


def fitted_of(run_dir) -> dict | None:
    """What a run's data learnt from its training split (dlrun.datasets.fit), read back from
    the run folder: its tokenizer.json. None when it has none."""
    path = Path(run_dir) / "tokenizer.json"
    return {"tokenizer": path.read_text()} if path.is_file() else None
