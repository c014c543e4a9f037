"""`dlrun export RUN --format ...`: a run's best model for use without dlrun.

  safetensors  weights only (the state dict): load into the same architecture
  exported     architecture + weights as a torch.export program (model.pt2): torch.export.load
  torchscript  architecture + weights as TorchScript (traced; a detector scripted): torch.jit.load
  onnx         architecture + weights as ONNX (model.onnx, torch's exporter from the same torch.export
               program), checked against eager PyTorch with onnxruntime (extra: dlrun[onnx])

A detector (task=detection) is scripted, not exported: torch.export cannot take torchvision's
detectors, whose box decoding and NMS have data-dependent shapes; its default formats are
torchscript and safetensors; ONNX (made from torch.export) is refused for the same reason.

Every export also writes model.json: the classes or outputs and the exact input
preprocessing, so the model can be fed without dlrun.
"""

import argparse
import os
import sys
import warnings
from pathlib import Path

from dlrun.commands import add_trust_option, need_extra

HELP = "export a run's model: safetensors (weights), exported (torch.export .pt2), torchscript or onnx"
FORMATS = ("safetensors", "exported", "torchscript", "onnx")
FILES = {
    "safetensors": "model.safetensors",
    "exported": "model.pt2",
    "torchscript": "model.torchscript.pt",
    "onnx": "model.onnx",
}


def add_arguments(parser) -> None:
    parser.add_argument("run", help="a run directory")
    parser.add_argument(
        "--format",
        "-f",
        nargs="+",
        default=["exported", "safetensors"],
        choices=[*FORMATS, "all"],
        help="one or more of: safetensors, exported, torchscript, onnx, all (default: exported safetensors)",
    )
    parser.add_argument(
        "--dynamic-batch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="exported and onnx programs take any batch size (default); --no-dynamic-batch: batch size 1 only",
    )
    parser.add_argument("--output", "-o", help="folder to write to (default: RUN/export)")
    parser.add_argument("--checkpoint", default="best", help="best (default) or last")
    add_trust_option(parser)


def main(args) -> int:
    from dlrun.runs.saved_run import load_run

    run = load_run(args.run, args.checkpoint, args.trust)  # refuses an untrusted config before torch loads
    from dlrun import tasks

    boxes = tasks.get(run.info.task).boxes  # detection: scripted, not exported (see formats_for)
    formats = formats_for(args.format, boxes)  # a format the model cannot take: said before it is built
    if "onnx" in formats:  # onnxscript for torch's exporter, onnxruntime for the check
        need_extra("--format onnx", {"onnx": "onnx", "onnxscript": "onnxscript", "onnxruntime": "onnxruntime"}, "onnx")

    import torch

    from dlrun.engine.checkpoint import umask_mode, write_json
    from dlrun.runs.inference import write_tokenizer
    from dlrun.runs.model_card import model_card
    from dlrun.runs.saved_run import rebuild_model

    model = rebuild_model(run)
    out = Path(args.output) if args.output else run.path / "export"
    out.mkdir(parents=True, exist_ok=True)
    program, example = exportable(model, run.info, 2 if args.dynamic_batch else 1)  # for the program formats
    text_length = run.info.input_shape[0] if len(example) == 2 else None  # token ids and mask
    padded_to = None  # the text length an exported text model takes, when it cannot take any
    written = []
    for fmt in formats:
        path = out / FILES[fmt]
        tmp = path.with_name(f".tmp-{path.name}")  # same suffix: torch.export.save checks it
        with torch.no_grad():
            if fmt == "safetensors":
                from safetensors.torch import save_model

                save_model(model, str(tmp))
            elif fmt in ("exported", "onnx"):
                exported, padded_to = export_program(
                    program, example, text_length, args.dynamic_batch, f"model={run.cfg.model.name}"
                )
                if fmt == "exported":
                    torch.export.save(exported, str(tmp))
                else:
                    from dlrun.runs.onnx_format import write_onnx

                    write_onnx(exported, tmp, ["ids", "mask"] if text_length else ["inputs"])
                    try:
                        check_onnx(tmp, program, run, padded_to, text_length is not None, args.dynamic_batch)
                    except BaseException:
                        tmp.unlink(missing_ok=True)
                        raise
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
    meta = {**model_card(run, args.checkpoint, padded_to), "files": [p.name for p in written]}
    write_json(meta, out / "model.json")
    tokenizer = write_tokenizer(run.info, out)  # a text run: the tokenizer model.json's input names
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
        return tuple(f for f in FORMATS if not (boxes and f in ("exported", "onnx")))
    formats = tuple(dict.fromkeys(asked))
    if boxes and "onnx" in formats:
        raise DlrunError(
            "--format onnx: torch's ONNX exporter works from torch.export, which cannot take torchvision's "
            "detectors (their box decoding and NMS have data-dependent shapes). Use --format torchscript or "
            "safetensors."
        )
    if boxes and "exported" in formats:
        if formats == ("exported", "safetensors") and asked == ["exported", "safetensors"]:  # the default
            return ("torchscript", "safetensors")
        raise DlrunError(
            "--format exported: torch.export cannot export torchvision's detectors (their box decoding and NMS "
            "have data-dependent shapes). Use --format torchscript (scripted: torch.jit.load, no dlrun needed) "
            "or safetensors."
        )
    return formats


def parser() -> argparse.ArgumentParser:
    """`dlrun export`'s own argument parser (for calling main() in-process)."""
    made = argparse.ArgumentParser(prog="dlrun export")
    add_arguments(made)
    return made


def check_onnx(path, program, run, padded_to, text: bool, dynamic: bool) -> None:
    """onnxruntime's outputs against the model's on the run's own data at batch 1 and 8 (1 when the
    batch is fixed); printed, and an error when they differ by more than TOLERANCE (times the
    largest output of a regression over 1: its values are in their target's units)."""
    import torch

    from dlrun.errors import DlrunError
    from dlrun.runs.onnx_format import TOLERANCE, check_parity, data_samples

    samples, source = data_samples(run, 8, text)
    if padded_to:  # a text program of a fixed length: the ids padded with pad_id, the mask with False
        ids, mask = samples
        extra = padded_to - ids.shape[1]
        samples = (
            torch.nn.functional.pad(ids, (0, extra), value=run.info.preprocess["pad_id"]),
            torch.nn.functional.pad(mask, (0, extra), value=False),
        )
    batches = (1, min(8, len(samples[0]))) if dynamic else (1,)
    differences = check_parity(path, program, samples, batches)
    figures = ", ".join(f"batch {b}: {d:.2e}" for b, (d, _) in differences.items())
    worst = max(d for d, _ in differences.values())
    scale = max(1.0, *(s for _, s in differences.values())) if run.info.task == "regression" else 1.0
    relative = f" (outputs up to {scale:.3g}: {worst / scale:.1e} of that)" if scale > 1 else ""
    print(f"onnx check: onnxruntime vs PyTorch on {source}, max abs difference {figures}{relative}", file=sys.stderr)
    if not worst <= TOLERANCE * scale:
        raise DlrunError(
            f"the ONNX model's outputs differ from PyTorch's by {worst:.2e} (more than {TOLERANCE:g}"
            f"{' of the largest output' if scale > 1 else ''}): model.onnx is not written. "
            "Try --format exported or torchscript."
        )


def exportable(model, info, batch: int = 2):
    """(the module to export, an example input tuple of `batch` samples). A text model takes a
    TextBatch: exported as a module of two tensors, token ids and mask."""
    import torch

    if (info.preprocess or {}).get("kind") != "text":
        return model, (torch.zeros(batch, *info.input_shape),)
    ids = torch.full((batch, 8), info.preprocess["pad_id"], dtype=torch.int64)
    ids[:, :3] = torch.tensor([1, 2, 3]) % max(1, info.vocab_size)
    mask = torch.zeros(batch, 8, dtype=torch.bool)
    mask[:, :3] = True
    from dlrun.models.text import TokenInputs

    return TokenInputs(model).eval(), (ids, mask)


def export_program(model, example: tuple, text_length: int | None = None, dynamic: bool = True, name: str = ""):
    """(program, the text length it takes or None). torch.export with a dynamic batch size (and
    text length); a text model whose length will not stay dynamic (Hugging Face's specialise it)
    is exported for texts padded to `text_length` (dataset.max_length) with a dynamic batch; any
    other model that will not allow a dynamic batch for the example's shapes. A model torch.export
    cannot take at all (an LSTM over packed sequences): a DlrunError naming what can."""
    with warnings.catch_warnings():  # torch.export's advice to module authors (buffers ...): not the user's
        warnings.simplefilter("ignore", UserWarning)
        return program_of(model, example, text_length, dynamic, name)


def program_of(model, example: tuple, text_length, dynamic: bool, name: str):
    import torch

    from dlrun.errors import DlrunError, first_line

    batch = {0: torch.export.Dim("batch", min=1)} if dynamic else {}
    length = torch.export.Dim("length", min=2)
    dims = (batch or None,) if len(example) == 1 else ({**batch, 1: length},) * 2
    try:
        return torch.export.export(model, example, dynamic_shapes=dims), None
    except Exception as err:  # data-dependent shapes (e.g. BatchNorm specialisation)
        first = err
    try:
        if text_length is not None:
            ids, mask = example
            padded = (
                torch.nn.functional.pad(ids, (0, text_length - ids.shape[1]), value=int(ids[0, -1])),
                torch.nn.functional.pad(mask, (0, text_length - mask.shape[1]), value=False),
            )
            program = torch.export.export(model, padded, dynamic_shapes=(batch or None,) * 2)
            print(
                f"note: a dynamic text length is not exportable ({type(first).__name__}); exporting texts padded "
                f"to {text_length} tokens (model.json: input.padded_to)",
                file=sys.stderr,
            )
            return program, text_length
        program = torch.export.export(model, example)
        print(
            f"note: a dynamic batch size is not exportable ({type(first).__name__}); exporting batch size "
            f"{example[0].shape[0]}",
            file=sys.stderr,
        )
        return program, None
    except Exception as err:
        raise DlrunError(
            f"torch.export cannot export {name or 'this model'} ({type(err).__name__}: {first_line(err)[:200]}), "
            "so neither --format exported nor onnx can. Use --format torchscript or safetensors."
        ) from err
