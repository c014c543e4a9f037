"""manifest.json beside the shards: what the data is and where each sample lies.

{"format": "dlrun-shards/2", "kind": "image" | "segmentation" | "detection" | "audio" | "tensors",
 "dataset": "image_folder", "task": "classification", "classes": [...],
 "info": {the converted run's DataInfo: input shape, classes, preprocessing, label ids ...},
 "transforms": {...} (image kinds), "ignore_index" (segmentation), "spec_augment" (audio),
 "counts": {"train": N, ...},
 "splits": {"train": {"shards": ["train-000000.tar", ...],
                      "samples": [[shard, [suffix, offset, size], ...], ...]}, "val": ..., "test": ...}}
"""

import json

from dlrun.datasets.shards.reading import join, read_text
from dlrun.errors import DlrunError

FORMAT = "dlrun-shards/2"
NAME = "manifest.json"


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
