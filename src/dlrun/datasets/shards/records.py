"""What each sample of a data set dlrun built becomes in a shard: its tar members (WebDataset's
`<key>.<suffix>`), taken from the split as a run reads it, before the training transforms.

A sample read from a file keeps the file's own bytes (an image, a mask, an audio clip: the same
pixels and samples, no re-encoding); one your Dataset makes is kept as it returns it (a PIL image
as a lossless `pil.png`, arrays and tensors in NumPy's .npy format); a class index as WebDataset's
`.cls`, other targets as `y.npy`, boxes as `json`. Kinds (the manifest's `kind`): image,
segmentation, detection, audio, and tensors (tables, arrays, texts as token ids, your Dataset's
non-image samples: each sample as the split gives it)."""

import io
import json
from pathlib import Path

import numpy as np
import torch

from dlrun.datasets.info import DETECTION, SEGMENTATION
from dlrun.errors import DlrunError


def kind_of(bundle) -> str:
    """The shards' kind for a data set's bundle: its task, or what its inputs are."""
    how = (bundle.info.preprocess or {}).get("kind")
    if bundle.info.task in (SEGMENTATION, DETECTION):
        return bundle.info.task
    return how if how in ("image", "audio") else "tensors"


def npy(value) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()


def file_member(path, prefix: str = "") -> tuple[str, bytes]:
    """A file's own bytes, named by its extension."""
    return prefix + (Path(path).suffix.lower().lstrip(".") or "bin"), Path(path).read_bytes()


def input_member(x) -> tuple[str, bytes]:
    """An input your Dataset returned, as it returned it."""
    from PIL import Image

    if isinstance(x, Image.Image):
        buffer = io.BytesIO()
        x.save(buffer, format="PNG")  # lossless, the image's mode kept
        return "pil.png", buffer.getvalue()
    if torch.is_tensor(x):
        return "tensor.npy", npy(x.as_subclass(torch.Tensor).detach().cpu().numpy())
    return "array.npy", npy(x)


def target_member(y) -> tuple[str, bytes]:
    """A class index as `.cls`, any other target (multi-hot rows, values) as `y.npy`, dtype kept."""
    if isinstance(y, (int, np.integer)) or (torch.is_tensor(y) and y.dtype == torch.int64 and y.ndim == 0):
        return "cls", str(int(y)).encode()
    return "y.npy", npy(y.detach().cpu().numpy() if torch.is_tensor(y) else y)


def boxes_member(target: dict) -> tuple[str, bytes]:
    boxes = torch.as_tensor(target["boxes"]).as_subclass(torch.Tensor).reshape(-1, 4)
    labels = torch.as_tensor(target["labels"]).reshape(-1)
    return "json", json.dumps({"boxes": boxes.float().tolist(), "labels": labels.long().tolist()}).encode()


def sample_members(kind: str, split):
    """fn(j) -> the members of sample j of `split` (a split of the bundle a run builds, its files
    kept on disk: image_files.kept_on_disk)."""
    from torch.utils.data import TensorDataset

    from dlrun.datasets.image_files import LabelledFiles
    from dlrun.datasets.text.samples import TokenIds
    from dlrun.datasets.transforms import Transformed

    if kind == "tensors":
        if not isinstance(split, (TensorDataset, TokenIds, Transformed)):
            raise DlrunError(f"dlrun data convert cannot read this data set's samples ({type(split).__name__}).")

        def tensors(j):
            x, y = split[j]
            return [("x.npy", npy(torch.as_tensor(x).numpy())), ("y.npy", npy(torch.as_tensor(y).numpy()))]

        return tensors
    if kind == "audio":

        def clip(j):
            source = split.sources[j]
            wave = ("wave.npy", npy(source.numpy())) if torch.is_tensor(source) else file_member(source)
            return [wave, target_member(split.targets[j])]

        return clip
    base, indices = split.base, split.indices
    at = (lambda j: indices[j]) if indices is not None else (lambda j: j)
    if kind == "image":
        from torchvision.datasets import DatasetFolder

        files = isinstance(base, (DatasetFolder, LabelledFiles))
        change = split.target_transform

        def image(j):
            if files:
                path, y = base.samples[at(j)]
                x = file_member(path)
            else:
                raw, y = base[at(j)]
                x = input_member(raw)
            return [x, target_member(change(y) if change is not None else y)]

        return image
    if kind == "segmentation":
        from dlrun.datasets.segmentation import MaskedFiles

        def masked(j):
            if isinstance(base, MaskedFiles):
                image, mask = base.samples[at(j)]
                return [file_member(image), file_member(mask, "mask.")]
            image, mask = base[at(j)]
            return [input_member(image), ("mask.npy", npy(np.asarray(mask)))]

        return masked
    from dlrun.datasets.detection.samples import BoxedImages

    def boxed(j):
        if isinstance(base, BoxedImages):
            sample = base.samples[at(j)]
            return [file_member(sample.path), boxes_member({"boxes": sample.boxes, "labels": sample.labels})]
        image, target = base[at(j)]
        return [input_member(image), boxes_member(target)]

    return boxed
