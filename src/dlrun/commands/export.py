"""`dlrun export RUN --format ...`: a run's best model for use without dlrun.

  safetensors  weights only (the state dict): load into the same architecture
  exported     architecture + weights as a torch.export program (model.pt2): torch.export.load
  torchscript  architecture + weights as TorchScript (traced; a detector scripted): torch.jit.load

A detector (task=detection) is scripted, not exported: torch.export cannot take torchvision's
detectors, whose box decoding and NMS have data-dependent shapes; its default formats are
torchscript and safetensors.

Every export also writes model.json: the classes or outputs and the exact input
preprocessing, so the model can be fed without dlrun.
"""

import os
import sys
import warnings
from pathlib import Path

from dlrun.commands import add_trust_option

HELP = "export a run's model: safetensors (weights), exported (torch.export .pt2) or torchscript"
FORMATS = ("safetensors", "exported", "torchscript")


def add_arguments(parser) -> None:
    parser.add_argument("run", help="a run directory")
    parser.add_argument(
        "--format",
        "-f",
        nargs="+",
        default=["exported", "safetensors"],
        choices=[*FORMATS, "all"],
        help="one or more of: safetensors, exported, torchscript, all (default: exported safetensors)",
    )
    parser.add_argument("--output", "-o", help="folder to write to (default: RUN/export)")
    parser.add_argument("--checkpoint", default="best", help="best (default) or last")
    add_trust_option(parser)


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

    t = OmegaConf.to_container(run.cfg.dataset.transforms, resolve=True)
    return {
        **image,
        "resize": trained_resize(t, how, run.info.input_shape),
        "center_crop": t["random_crop"],
        "mean": how.get("mean"),
        "std": how.get("std"),
    }


def main(args) -> int:
    from dlrun.runs.saved_run import load_run

    run = load_run(args.run, args.checkpoint, args.trust)  # refuses an untrusted config before torch loads
    from dlrun import tasks

    boxes = tasks.get(run.info.task).boxes  # detection: scripted, not exported (see formats_for)
    formats = formats_for(args.format, boxes)  # a format the model cannot take: said before it is built

    import torch

    from dlrun.engine.checkpoint import umask_mode, write_json
    from dlrun.metrics import thresholds
    from dlrun.runs.inference import write_tokenizer
    from dlrun.runs.saved_run import rebuild_model

    model = rebuild_model(run)
    out = Path(args.output) if args.output else run.path / "export"
    out.mkdir(parents=True, exist_ok=True)
    program, example = exportable(model, run.info)  # what exported and torchscript formats take
    text_length = run.info.input_shape[0] if len(example) == 2 else None  # token ids and mask
    padded_to = None  # the text length an exported text model takes, when it cannot take any
    written = []
    for fmt in formats:
        path = (
            out
            / {"safetensors": "model.safetensors", "exported": "model.pt2", "torchscript": "model.torchscript.pt"}[fmt]
        )
        tmp = path.with_name(f".tmp-{path.name}")  # same suffix: torch.export.save checks it
        with torch.no_grad():
            if fmt == "safetensors":
                from safetensors.torch import save_model

                save_model(model, str(tmp))
            elif fmt == "exported":
                exported, padded_to = export_program(program, example, text_length)
                torch.export.save(exported, str(tmp))
            elif boxes:  # a detector takes a list of images of their own sizes: scripted, not traced
                from dlrun.models.torchvision_detection import scripted

                torch.jit.save(scripted(model), str(tmp))
            else:
                with warnings.catch_warnings():  # torch marks TorchScript deprecated; it still loads anywhere
                    warnings.simplefilter("ignore", FutureWarning)
                    torch.jit.save(torch.jit.trace(program, example), str(tmp))
                print(
                    "note: TorchScript is deprecated in recent torch; --format exported is its successor",
                    file=sys.stderr,
                )
        os.chmod(tmp, umask_mode())  # safetensors writes 0600 (a temporary file of its own)
        os.replace(tmp, path)
        written.append(path)
    info = run.info
    decide = thresholds.of_run(run.path, run.cfg.get("task"), info.class_names or [])
    detection = {"label_ids": list(info.label_ids or [])} if boxes else {}  # the data's own id of each class
    meta = {
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
            "file": f"checkpoints/{args.checkpoint}.pt",
            "epoch": run.checkpoint["epoch"],
            "metrics": run.checkpoint["metrics"],
        },
        "files": [p.name for p in written],
    }
    write_json(meta, out / "model.json")
    tokenizer = write_tokenizer(info, out)  # a text run: the tokenizer model.json's input names
    if tokenizer is not None:
        written.append(tokenizer)
    for path in [*written, out / "model.json"]:
        print(path)
    print(f"exported {run.path.name} ({', '.join(formats)}) to {out}", file=sys.stderr)
    return 0


def formats_for(asked: list[str], boxes: bool) -> tuple[str, ...]:
    """The formats to write. A detector is not exportable with torch.export (its box decoding and
    NMS have data-dependent shapes): by default it is scripted (TorchScript) instead."""
    from dlrun.errors import DlrunError

    if "all" in asked:
        return tuple(f for f in FORMATS if not (boxes and f == "exported"))
    formats = tuple(dict.fromkeys(asked))
    if boxes and "exported" in formats:
        if formats == ("exported", "safetensors") and asked == ["exported", "safetensors"]:  # the default
            return ("torchscript", "safetensors")
        raise DlrunError(
            "--format exported: torch.export cannot export torchvision's detectors (their box decoding and NMS "
            "have data-dependent shapes). Use --format torchscript (scripted: torch.jit.load, no dlrun needed) "
            "or safetensors."
        )
    return formats


def exportable(model, info):
    """(the module to export, an example input tuple). A text model takes a TextBatch: exported
    as a module of two tensors, token ids and mask."""
    import torch

    if (info.preprocess or {}).get("kind") != "text":
        return model, (torch.zeros(2, *info.input_shape),)
    ids = torch.full((2, 8), info.preprocess["pad_id"], dtype=torch.int64)
    ids[:, :3] = torch.tensor([1, 2, 3]) % max(1, info.vocab_size)
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, :3] = True
    from dlrun.models.text import TokenInputs

    return TokenInputs(model).eval(), (ids, mask)


def export_program(model, example: tuple, text_length: int | None = None):
    """(program, the text length it takes or None). torch.export with a dynamic batch size (and
    text length); a text model whose length will not stay dynamic (Hugging Face's specialise it)
    is exported for texts padded to `text_length` (dataset.max_length) with a dynamic batch; any
    other model that will not allow a dynamic batch for the example's shapes."""
    import torch

    batch = torch.export.Dim("batch", min=1)
    dims = ({0: batch},) if len(example) == 1 else ({0: batch, 1: torch.export.Dim("length", min=2)},) * 2
    try:
        return torch.export.export(model, example, dynamic_shapes=dims), None
    except Exception as err:  # data-dependent shapes (e.g. BatchNorm specialisation)
        if text_length is not None:
            ids, mask = example
            padded = (
                torch.nn.functional.pad(ids, (0, text_length - ids.shape[1]), value=int(ids[0, -1])),
                torch.nn.functional.pad(mask, (0, text_length - mask.shape[1]), value=False),
            )
            print(
                f"note: a dynamic text length is not exportable ({type(err).__name__}); exporting texts padded "
                f"to {text_length} tokens (model.json: input.padded_to)",
                file=sys.stderr,
            )
            return torch.export.export(model, padded, dynamic_shapes=({0: batch},) * 2), text_length
        print(
            f"note: a dynamic batch size is not exportable ({type(err).__name__}); exporting batch size "
            f"{example[0].shape[0]}",
            file=sys.stderr,
        )
        return torch.export.export(model, example), None
