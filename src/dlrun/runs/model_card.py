"""A run's model card (export's model.json, serve's /metadata): its task, classes or outputs,
the exact input preprocessing, the checkpoint's epoch and metrics and the versions that made it,
as plain data, so the model can be fed without dlrun."""

from pathlib import Path


def model_card(run, checkpoint: str = "best", padded_to: int | None = None) -> dict:
    """`padded_to`: the text length an exported text model takes, when it cannot take any."""
    from dlrun import tasks
    from dlrun.metrics import thresholds
    from dlrun.runs.run_record import versions

    info = run.info
    boxes = tasks.get(info.task).boxes
    decide = thresholds.of_run(run.path, run.cfg.get("task"), info.class_names or [])
    detection = {"label_ids": list(info.label_ids or [])} if boxes else {}  # the data's own id of each class
    return {
        "run": Path(run.path).name,
        "task": info.task,
        "outputs": tasks.get(info.task).outputs_meaning,
        "class_names": list(info.class_names) if info.class_names else None,
        **({"thresholds": decide} if decide is not None else {}),  # multi-label: per label, in class_names' order
        **detection,
        "input_shape": list(info.input_shape),  # detection: the first image's (a detector takes any size)
        "output_shape": list(tasks.get(info.task).output_shape(info)),  # per sample: (classes,) or (classes, H, W)
        "input": {**input_spec(run), **({"padded_to": padded_to} if padded_to else {})},
        "model": run.cfg.model.name,
        "checkpoint": {
            "file": f"checkpoints/{checkpoint}.pt",
            "epoch": run.checkpoint["epoch"],
            "metrics": run.checkpoint["metrics"],
        },
        "versions": versions(),  # of the software that exports or serves it (summary.json has the training's)
    }


def input_spec(run) -> dict:
    """How to turn a raw input into the model's input tensor, as plain data (model.json's
    `input`), one schema for every run:

        kind         "image" (an image file) or "table" (a row of a CSV/Parquet table)
        shape        one sample as the model takes it: [C, H, W] or [features]
        image:  mode ("L" | "RGB"), resize ([H, W] | int | null), center_crop ([H, W] | int | null),
                mean and std per channel (null: no normalisation), after scaling pixels to [0, 1]
        table:  features (the column names in order | null: every column in file order),
                mean and std per feature
    """
    how = dict(run.info.preprocess or {})
    shape = list(run.info.input_shape)
    if how.get("kind") == "text":
        return {
            "kind": "text",
            "shape": shape,  # at most max_length token ids
            "tokenizer": "tokenizer.json",  # beside model.json: tokenizers.Tokenizer.from_file, truncation set
            "columns": how.get("columns"),
            "max_length": how["max_length"],
            "truncation_side": how["truncation_side"],
            "pad_id": how["pad_id"],
            "model_inputs": [
                "ids (batch, length) int64, padded with pad_id",
                "mask (batch, length) bool, True on tokens",
            ],
        }
    if how.get("kind") == "audio":
        keys = ("sample_rate", "clip_seconds", "features", "n_mels", "n_fft", "hop_length", "n_mfcc", "mean", "std")
        return {
            "kind": "audio",
            "shape": shape,
            **{key: how[key] for key in keys},
            "mono": "channels averaged",
            "window": "the centre clip_seconds, padded with zeros at the end when shorter",
            "spectrogram": "torch.stft(n_fft, hop_length, hann window, center=True) power, HTK mel filterbank "
            "(0 Hz to Nyquist, no normalisation), 10*log10(max(power, 1e-10)); mfcc: orthonormal DCT-II of that",
            "standardise": "(features - mean) / std",
        }
    if how.get("kind") == "table":
        return {
            "kind": "table",
            "shape": shape,
            "features": how.get("features"),
            "mean": how["mean"],
            "std": how["std"],
        }
    channels = shape[0]
    image = {"kind": "image", "shape": shape, "mode": "L" if channels == 1 else "RGB"}
    if how.get("kind") == "array_image":  # images held as arrays in [0, 1] (digits, dataset=arrays)
        return {
            **image,
            "resize": shape[1:],
            "center_crop": None,
            "mean": [float(how["mean"])] * channels,
            "std": [float(how["std"])] * channels,
        }
    from omegaconf import OmegaConf

    from dlrun.datasets.transforms import trained_resize
    from dlrun.runs.inference import run_transforms

    t = OmegaConf.to_container(run_transforms(run), resolve=True)
    return {
        **image,
        "resize": trained_resize(t, how, run.info.input_shape),
        "center_crop": t["random_crop"],
        "mean": how.get("mean"),
        "std": how.get("std"),
    }
