"""manifest.json beside the shards: what the data is; and each split's index, a NumPy file of a
row per sample saying where its members lie.

manifest.json: {"format": "dlrun-shards/2", "kind": "image" | "segmentation" | "detection" | "audio" |
 "tensors", "dataset": "image_folder", "task": "classification", "classes": [...],
 "info": {the converted run's DataInfo: input shape, classes, preprocessing, label ids ...},
 "transforms": {...} (image kinds), "ignore_index" (segmentation), "spec_augment" (audio),
 "counts": {"train": N, ...}, "suffixes": ["png", "cls", ...],
 "splits": {"train": {"shards": ["train-000000.tar", ...], "index": "index-train.npy", "members": 2}, ...}}

index-<split>.npy: a structured array (no pickle), a row per sample in shard order: `shard` (its
shard's place in the split's list), `source` (its place in the split of the data set it came from),
and per member k `suffix<k>` (a place in `suffixes`; -1: none), `offset<k>` and `size<k>` (bytes of
its data in the tar file). Compact (48 bytes a sample of two members) and memory-mapped from a local folder, so
loader workers share one copy: 10 million samples are 480 MB on disk, not gigabytes of Python
objects in every process.
"""

import io
import json

import numpy as np

from dlrun.datasets.shards.reading import fetch, join, read_text, remote
from dlrun.errors import DlrunError

FORMAT = "dlrun-shards/2"
NAME = "manifest.json"


def index_dtype(members: int) -> np.dtype:
    fields = [("shard", "<i4"), ("source", "<i8")]
    for k in range(members):
        fields += [(f"suffix{k}", "<i2"), (f"offset{k}", "<i8"), (f"size{k}", "<i8")]
    return np.dtype(fields)


def read_manifest(url: str) -> dict:
    """The manifest at URL/manifest.json (a folder, an http(s) or an s3:// address)."""
    where = join(url, NAME)
    try:
        manifest = json.loads(read_text(where))
    except (OSError, ValueError) as err:
        raise DlrunError(
            f"dataset.url={url}: no readable {NAME} there ({err}). Make shards with `dlrun data convert ... "
            "--output DIR` and point dataset.url at DIR (or the address serving it)."
        ) from err
    if manifest.get("format") != FORMAT:
        raise DlrunError(
            f"{where} is not a dlrun shard manifest of this version (format {manifest.get('format')!r}, not "
            f"{FORMAT}): convert the data again with `dlrun data convert`."
        )
    return manifest


def read_index(url: str, manifest: dict, split: str) -> np.ndarray:
    """A split's index: memory-mapped from a local folder, fetched whole from an address."""
    where = join(url, manifest["splits"][split]["index"])
    try:
        if remote(where):
            index = np.load(io.BytesIO(fetch(where)), allow_pickle=False)
        else:
            index = np.load(where, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DlrunError(f"{where}: the shards' index could not be read ({err}).") from err
    if index.dtype != index_dtype(manifest["splits"][split]["members"]):
        raise DlrunError(f"{where} is not the index its manifest describes (fields {index.dtype.names}).")
    return index


def member_count(index: np.ndarray) -> int:
    """The members a row of `index` has room for (index_dtype's three fields each)."""
    return (len(index.dtype.names) - 2) // 3


def members(index: np.ndarray, i: int, suffixes: list[str]) -> list[tuple[str, int, int]]:
    """Sample i's members: (suffix, offset, size) each."""
    row = index[i]
    return [
        (suffixes[int(row[f"suffix{k}"])], int(row[f"offset{k}"]), int(row[f"size{k}"]))
        for k in range(member_count(index))
        if row[f"suffix{k}"] >= 0
    ]
