"""manifest.json beside the shards: what the data is and where each sample lies.

{"format": "dlrun-shards/1", "kind": "image_folder", "task": "classification",
 "classes": [...], "preprocess": {"mean", "std", "resize"}, "transforms": {...},
 "splits": {"train": {"shards": ["train-000000.tar", ...],
                      "samples": [[shard, offset, size, ext, target], ...]}, "val": ..., "test": ...}}
"""

import json

from dlrun.datasets.shards.reading import join, read_text
from dlrun.errors import DlrunError

FORMAT = "dlrun-shards/1"
NAME = "manifest.json"


def read_manifest(url: str) -> dict:
    """The manifest at URL/manifest.json (a folder or an http(s) address)."""
    where = join(url, NAME)
    try:
        manifest = json.loads(read_text(where))
    except (OSError, ValueError) as err:
        raise DlrunError(
            f"dataset.url={url}: no readable {NAME} there ({err}). Make shards with `dlrun data convert ... "
            "--output DIR` and point dataset.url at DIR (or the address serving it)."
        ) from err
    if manifest.get("format") != FORMAT:
        raise DlrunError(f"{where} is not a dlrun shard manifest (format {manifest.get('format')!r}, not {FORMAT}).")
    return manifest
