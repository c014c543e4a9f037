"""Which files `dataset=table`, `dataset=arrays` and the audio sets read, told by the extension. No torch, no
pandas: the config checks name a file of the wrong kind before anything heavy is imported."""

from pathlib import Path

from dlrun.errors import DlrunError

FORMATS = {
    ".csv": "CSV",
    ".tsv": "TSV",
    ".tab": "TSV",
    ".parquet": "Parquet",
    ".pq": "Parquet",
    ".feather": "Feather",
    ".ftr": "Feather",
    ".arrow": "Feather",
}
COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")  # pandas reads compressed CSV/TSV by these
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au")  # what soundfile decodes here


def table_format(path, key: str = "dataset.path", default: str | None = None) -> str:
    """CSV, TSV, Parquet or Feather, from the extension (a compressed CSV/TSV keeps its inner one);
    `default` for any other extension (dataset=csv reads every file as CSV, as it always did)."""
    suffixes = [s.lower() for s in Path(str(path)).suffixes]
    if suffixes and suffixes[-1] in COMPRESSION:
        suffixes = suffixes[:-1]
    kind = FORMATS.get(suffixes[-1] if suffixes else "", default)
    if kind is None or (kind not in ("CSV", "TSV") and Path(str(path)).suffix.lower() in COMPRESSION):
        raise DlrunError(
            f"{key}={str(path)!r}: dlrun reads tables from {', '.join(FORMATS)} files "
            f"(CSV and TSV also compressed: {', '.join(COMPRESSION)}); rename the file or convert it."
        )
    return kind


ARRAY_FORMATS = {".npz": "NumPy archive", ".npy": "NumPy array", ".pt": "torch file", ".pth": "torch file"}


def array_format(path, key: str = "dataset.path") -> str:
    kind = ARRAY_FORMATS.get(Path(str(path)).suffix.lower())
    if kind is None:
        raise DlrunError(
            f"{key}={str(path)!r}: dataset=arrays reads {', '.join(ARRAY_FORMATS)} files; "
            "tables (.csv, .parquet ...) are dataset=table."
        )
    return kind
