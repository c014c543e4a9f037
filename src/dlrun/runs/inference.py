"""Turn raw inputs (image files, table rows, texts, audio files) into the tensors a run's model
saw at evaluation, and model outputs into readable predictions. One path per input kind, for
`dlrun predict` (files) and `dlrun serve` (uploads: bytes, JSON rows, strings) alike."""

from pathlib import Path

import numpy as np
import torch

from dlrun.datasets.file_formats import FORMATS, table_format
from dlrun.datasets.tables import read_table
from dlrun.errors import DlrunError, first_line

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
    from dlrun.datasets.text.reading import decode
    from dlrun.datasets.text.samples import pad

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
    return names, pad(text_ids(items, how), how["pad_id"])


def text_ids(texts: list[str], how: dict, tokenizer=None) -> list[torch.Tensor]:
    """Each text as the run's tokenizer (`tokenizer`: that one, already read) encodes it
    (truncated to max_length): int64 ids."""
    from dlrun.datasets.text.tokenizer import encode

    tokenizer = tokenizer or run_tokenizer(how)
    return [torch.as_tensor(i, dtype=torch.int64) for i in encode(tokenizer, texts)]


def run_tokenizer(how: dict):
    from tokenizers import Tokenizer

    return Tokenizer.from_str(how["tokenizer"])


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
    from dlrun.datasets.audio.decoding import AUDIO_SUFFIXES

    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise DlrunError(f"{path}: this run was trained on audio; give audio files ({', '.join(AUDIO_SUFFIXES)}).")
    return audio_features(path, how)


def audio_features(source, how: dict, features=None) -> torch.Tensor:
    """An audio file (a path or a binary file object) as the features of its centre clip
    (`features`: the run's ClipFeatures, already made)."""
    from dlrun.datasets.audio.clips import ClipFeatures
    from dlrun.datasets.audio.decoding import read_clip

    return (features or ClipFeatures(how))(torch.from_numpy(read_clip(source, how["sample_rate"])))


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
    return frame_tensor(frame, how, input_shape, path.name)


def frame_tensor(frame, how: dict, input_shape, name: str) -> torch.Tensor:
    """The rows of a table (a pandas DataFrame) as the model's standardised features."""
    frame.columns = [str(c) for c in frame.columns]
    features = how.get("features") or list(frame.columns)
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DlrunError(f"{name} lacks the column(s) the model was trained on: {', '.join(missing)}.")
    try:
        x = frame[features].to_numpy(np.float32)
    except (TypeError, ValueError) as err:
        raise DlrunError(f"{name}: the features must be numbers ({first_line(err)}).") from err
    if x.shape[1] != input_shape[0]:
        raise DlrunError(f"{name} has {x.shape[1]} feature columns; the model takes {input_shape[0]}.")
    if not np.isfinite(x).all():
        raise DlrunError(f"{name}: the features must be finite numbers (a NaN or infinity is in them).")
    return torch.as_tensor((x - np.asarray(how["mean"], np.float32)) / np.asarray(how["std"], np.float32))


def open_image(source, name: str, mode: str):
    """The image in `source` (a path or a binary file object), decoded and converted to `mode`;
    a file that is not an image PIL can read, truncated, or too large to decode: a DlrunError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as opened:
            return opened.convert(mode)
    except UnidentifiedImageError as err:
        raise DlrunError(f"{name} is not an image dlrun can read (PNG, JPEG, BMP, GIF, TIFF, WebP, PPM).") from err
    except Image.DecompressionBombError as err:
        raise DlrunError(f"{name} is too large to decode ({first_line(err)}).") from err
    except (OSError, ValueError, SyntaxError) as err:  # truncated or damaged data
        raise DlrunError(f"{name} could not be decoded ({first_line(err)}).") from err


def image_tensor(source, how: dict, run, name: str | None = None) -> torch.Tensor:
    """An image (a path or a binary file object) as the run's model saw one in evaluation."""
    name = name or Path(str(source)).name
    return image_transform(how, run, name)(open_image(source, name, image_mode(run)))


def image_mode(run) -> str:
    return "L" if run.info.input_shape[0] == 1 else "RGB"


def image_transform(how: dict, run, name: str = "the input"):
    """The run's evaluation preprocessing of a decoded PIL image (in image_mode(run)) into a tensor."""
    kind = how.get("kind")
    if kind == "array_image":  # images the dataset held as arrays scaled to [0, 1] (digits, dataset=arrays)
        from PIL import Image

        height, width = run.info.input_shape[1:]

        def from_array_image(image):
            array = np.asarray(image.resize((width, height), Image.BILINEAR), np.float32) / 255.0
            array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)  # (C, H, W)
            return torch.as_tensor((array - how["mean"]) / how["std"])

        return from_array_image
    if kind != "image":
        raise DlrunError(f"{name}: this run was trained on {kind or 'unknown'} data, not images.")
    from omegaconf import OmegaConf

    from dlrun.datasets.transforms import build_transforms, trained_resize

    stats = (how["mean"], how["std"]) if how.get("mean") is not None else None
    trained = run_transforms(run)
    transforms = OmegaConf.merge(trained, {"resize": trained_resize(trained, how, run.info.input_shape)})
    return build_transforms(transforms, train=False, stats=stats)


def run_transforms(run):
    """The image transforms the run trained with: its dataset.transforms, or (dataset=shards,
    whose config leaves them to the shards) those its data recorded."""
    from omegaconf import OmegaConf

    given = run.cfg.dataset.get("transforms")
    if given is not None:
        return given
    return OmegaConf.create((run.info.preprocess or {}).get("transforms") or {})


def readable(outputs: torch.Tensor, info, thresholds=None) -> list[dict]:
    """A row per input, as the run's task reads its outputs (class and probability, values ...)."""
    from dlrun import tasks

    return tasks.get(info.task).readable(outputs, info, thresholds)


def fitted_of(run_dir) -> dict | None:
    """What a run's data learnt from its training split (dlrun.datasets.fit), read back from
    the run folder: its tokenizer.json. None when it has none."""
    path = Path(run_dir) / "tokenizer.json"
    return {"tokenizer": path.read_text()} if path.is_file() else None
