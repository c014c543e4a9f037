"""Text and audio data (dataset=text, audio_folder, audio_table): their keys, the files they
name, and the models that read them (a text model takes token ids, an image model does not)."""

import csv
from pathlib import Path

from dlrun.checks.values import ABSENT, apply, boolean, lookup, number, one_of, whole
from dlrun.datasets.file_formats import AUDIO_SUFFIXES
from dlrun.errors import did_you_mean

TEXT_SETS = ("text",)
AUDIO_SETS = ("audio_folder", "audio_table")
FEATURES = ("logmel", "mfcc", "waveform")


def columns_ok(v) -> bool:
    items = [v] if isinstance(v, str) else v if isinstance(v, list) else []
    return 1 <= len(items) <= 2 and all(isinstance(c, str) and c for c in items)


def augment_ok(v) -> bool:
    keys = {"freq_masks", "freq_width", "time_masks", "time_width"}
    return v is None or (isinstance(v, dict) and set(v) <= keys and all(whole(0)(x) for x in v.values()))


TEXT_RULES = [
    ("dataset.text", columns_ok, "a column name, or a list of two (a pair of texts), e.g. sentence"),
    ("dataset.encoding", lambda v: isinstance(v, str) and v != "", "an encoding, e.g. utf-8 or latin-1"),
    ("dataset.tokenizer.path", lambda v: v is None or isinstance(v, str), "null or a tokenizer.json or model folder"),
    ("dataset.tokenizer.kind", one_of("wordpiece", "bpe", "unigram"), "wordpiece, bpe or unigram"),
    ("dataset.tokenizer.vocab_size", whole(16), "a whole number of tokens >= 16, e.g. 8000"),
    ("dataset.tokenizer.min_frequency", whole(1), "a whole number >= 1"),
    ("dataset.tokenizer.lowercase", boolean, "true or false"),
    ("dataset.max_length", whole(4), "a whole number of tokens >= 4, e.g. 128"),
    ("dataset.truncation_side", one_of("right", "left"), "right (keep the beginning) or left (keep the end)"),
    ("dataset.bucket", boolean, "true (training batches of texts of similar length) or false"),
]
AUDIO_RULES = [
    ("dataset.audio", lambda v: isinstance(v, str) and v != "", "the column naming the audio files"),
    ("dataset.sample_rate", whole(1000), "a whole number of samples per second >= 1000, e.g. 16000"),
    ("dataset.clip_seconds", number(0, 600, low_open=True), "seconds above 0 (at most 600), e.g. 1.0"),
    ("dataset.features", one_of(*FEATURES), ", ".join(FEATURES)),
    ("dataset.n_mels", whole(1), "a whole number of mel bands >= 1, e.g. 64"),
    ("dataset.n_fft", whole(8), "a whole number of samples >= 8, e.g. 400"),
    ("dataset.hop_length", whole(1), "a whole number of samples >= 1, e.g. 160"),
    ("dataset.n_mfcc", whole(1), "a whole number of coefficients >= 1, e.g. 20"),
    (
        "dataset.spec_augment",
        augment_ok,
        "null or {freq_masks, freq_width, time_masks, time_width}, whole numbers >= 0",
    ),
]


def input_problems(cfg, model: bool = True) -> list[str]:
    """The text and audio keys, and (`model`) whether the model reads what the data gives."""
    name = lookup(cfg, "dataset.name")
    found = []
    if name in TEXT_SETS:
        found += apply(cfg, TEXT_RULES) + text_problems(cfg)
    if name in AUDIO_SETS:
        found += apply(cfg, AUDIO_RULES) + audio_problems(cfg)
    return found + (model_input_problems(cfg, name) if model else [])


def text_problems(cfg) -> list[str]:
    path, root = lookup(cfg, "dataset.path"), lookup(cfg, "dataset.root")
    if (path in (None, ABSENT)) == (root in (None, ABSENT)):
        return [
            "dataset=text reads a table (dataset.path=texts.csv dataset.text=COLUMN dataset.target=COLUMN) or a "
            "folder with a subfolder of .txt files per class (dataset.root=FOLDER): give one of the two."
        ]
    found = []
    if (
        path not in (None, ABSENT)
        and lookup(cfg, "dataset.target") in (None, ABSENT)
        and not lookup(cfg, "dataset.targets")
    ):
        found.append("dataset.target is required with a table: the column to predict, e.g. dataset.target=label.")
    return found


def audio_problems(cfg) -> list[str]:
    found = []
    mels, mfcc, fft = (lookup(cfg, f"dataset.{k}") for k in ("n_mels", "n_mfcc", "n_fft"))
    if lookup(cfg, "dataset.features") == "mfcc" and whole(1)(mels) and whole(1)(mfcc) and mfcc > mels:
        found.append(f"dataset.n_mfcc={mfcc} is more than dataset.n_mels={mels}: MFCCs are taken from the mel bands.")
    if whole(8)(fft) and whole(1)(mels) and mels > fft // 2 + 1:
        found.append(
            f"dataset.n_mels={mels} is more than the {fft // 2 + 1} frequencies of dataset.n_fft={fft}: "
            "use fewer bands or a longer window."
        )
    return found


def named_input_files(cfg) -> list[str]:
    """What the files a text or audio data set names hold, read before torch: a CSV/TSV table's
    header has the columns named; an audio folder has audio files; a tokenizer path exists."""
    name = lookup(cfg, "dataset.name")
    found = []
    tokenizer = lookup(cfg, "dataset.tokenizer.path")
    if name in TEXT_SETS and isinstance(tokenizer, str) and not Path(tokenizer).expanduser().exists():
        found.append(f"dataset.tokenizer.path={tokenizer!r}: no such file or folder.")
    path = lookup(cfg, "dataset.path")
    if name in (*TEXT_SETS, "audio_table") and isinstance(path, str) and Path(path).expanduser().is_file():
        found += header_problems(cfg, Path(path).expanduser(), name)
    root = lookup(cfg, "dataset.root")
    if name == "audio_folder" and isinstance(root, str) and Path(root).expanduser().is_dir():
        folder = Path(root).expanduser()
        if not any(p.suffix.lower() in AUDIO_SUFFIXES for p in folder.rglob("*")):
            found.append(
                f"dataset.root={root!r} holds no audio files ({', '.join(AUDIO_SUFFIXES)}): it should have a "
                "subfolder per class with the clips in it (root/<class>/<clip>.wav)."
            )
    return found


def header_problems(cfg, path: Path, name: str) -> list[str]:
    """The columns dataset.text / dataset.audio / dataset.target(s) name are in a CSV or TSV header."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".tab"):
        return []  # Parquet, Feather, compressed files: read when the data is built
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f, delimiter="," if suffix == ".csv" else "\t"), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []  # said, with the file's name, when it is read
    wanted = []
    text = lookup(cfg, "dataset.text")
    if name in TEXT_SETS:
        wanted += [
            ("dataset.text", c) for c in ([text] if isinstance(text, str) else text if isinstance(text, list) else [])
        ]
    else:
        wanted.append(("dataset.audio", lookup(cfg, "dataset.audio")))
    targets = lookup(cfg, "dataset.targets")
    target = lookup(cfg, "dataset.target")
    wanted += [("dataset.targets", t) for t in targets] if isinstance(targets, list) else [("dataset.target", target)]
    return [
        f"{key}={column!r} is not a column of {path.name}.{did_you_mean(str(column), header)} Columns: {', '.join(header)}"
        for key, column in wanted
        if isinstance(column, str) and column not in header
    ]


def model_input_problems(cfg, name) -> list[str]:
    """The model reads what the data gives: token ids for text models, waveforms for audio_cnn,
    images (a spectrogram is one) for image models."""
    from dlrun.models.catalog import AUDIO_MODELS, TEXT_MODELS, USER_MODELS

    model = lookup(cfg, "model.name")
    if not isinstance(model, str) or model in USER_MODELS or name in (ABSENT, None, "custom", "shards"):
        return []  # custom and shards: what the data gives is known once built (the fit check says)
    features = lookup(cfg, "dataset.features")
    if name in TEXT_SETS and model not in TEXT_MODELS:
        return [
            f"model={model} does not read text; dataset=text gives token ids: use model=text_cnn, rnn, transformer "
            "or hf (or your own: model=custom)."
        ]
    if model in TEXT_MODELS and name not in TEXT_SETS:
        return [f"model={model} reads token ids; dataset={name} is not text: use dataset=text, or another model."]
    waveform = name in AUDIO_SETS and features == "waveform"
    if model in AUDIO_MODELS and not waveform:
        fix = "set dataset.features=waveform" if name in AUDIO_SETS else "use dataset=audio_folder or audio_table"
        return [
            f"model={model} takes waveforms (1, samples): {fix}, or use an image model (model=cnn) on spectrograms."
        ]
    if waveform and model not in (*AUDIO_MODELS, "mlp", "linear"):
        return [
            f"model={model} takes images; dataset.features=waveform gives 1-D waveforms: use model=audio_cnn, or "
            "dataset.features=logmel (a spectrogram, a one-channel image for model={model})."
        ]
    return []
