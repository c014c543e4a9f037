"""`dlrun export --format onnx`: the model as an ONNX file (torch's exporter, from the same
torch.export program as `--format exported`), checked against itself: onnxruntime's outputs
against eager PyTorch's on samples of the run's own data, at batch 1 and 8.

A detector is not exported: torch's ONNX exporter works from torch.export, which cannot take
torchvision's detectors (data-dependent shapes in box decoding and NMS).
"""

import sys
from pathlib import Path

from dlrun.errors import DlrunError, first_line

TOLERANCE = 1e-4  # max abs difference between onnxruntime's outputs and eager PyTorch's; a regression's
# values (in their target's units, 1e5 for a price) get it relative to their largest when that is over 1


def write_onnx(exported, path: Path, input_names: list[str]) -> None:
    """A torch.export program as an ONNX file (one file, weights inside), dynamic dimensions kept."""
    import contextlib
    import io
    import warnings

    import torch

    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # its progress lines
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                exported, (), dynamo=True, external_data=False, input_names=input_names, output_names=["outputs"]
            )
        program.save(str(path), external_data=False)
    except Exception as err:  # an operator ONNX (or its exporter) has no translation for ...
        raise DlrunError(
            f"torch's ONNX exporter could not convert this model ({type(err).__name__}: {first_line(err)[:300]}). "
            "--format exported (torch.export) or torchscript may."
        ) from err


def check_parity(path: Path, model, samples: tuple, batches=(1, 8)) -> dict[int, tuple[float, float]]:
    """{batch size: (max abs difference, largest output)} of onnxruntime's outputs and the model's,
    on the first `batch` rows of `samples` (a tuple of tensors: the model's inputs)."""
    import numpy as np
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    differences = {}
    for batch in batches:
        rows = tuple(s[:batch] for s in samples)
        with torch.no_grad():
            expected = model(*rows).float().numpy()
        got = session.run(None, {name: r.numpy() for name, r in zip(names, rows)})[0]
        differences[batch] = (
            float(np.abs(got - expected).max()) if expected.size else 0.0,
            float(np.abs(expected).max()) if expected.size else 0.0,
        )
    return differences


def data_samples(run, count: int = 8, text: bool = False) -> tuple[tuple, str]:
    """(`count` inputs from the run's own data, as the model takes them; where they came from):
    the test split, else validation; random inputs of the model's shape where the data is
    not on this machine."""
    import logging

    import torch

    from dlrun import datasets

    quiet = logging.getLogger("dlrun")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the data's notes were said when the run trained
    try:
        from dlrun.checks import validate

        validate(run.cfg, data_files=True)
        loaders, _ = datasets.build(
            run.cfg.dataset,
            run.cfg.loader,
            seed=run.cfg.seed,
            batch_size=count,
            device=torch.device("cpu"),
            fitted=run.info.preprocess,
        )
    except (DlrunError, OSError) as err:
        print(f"note: the run's data could not be read ({first_line(err)}); checking on random inputs", file=sys.stderr)
        return random_samples(run, count, text), "random inputs"
    finally:
        quiet.setLevel(level)
    split = "test" if loaders.get("test") is not None else "val"
    gathered, seen = [], 0
    for inputs, _ in loaders[split]:
        gathered.append(inputs)
        seen += len(inputs.ids) if text else len(inputs)
        if seen >= count:
            break
    if text:
        from dlrun.datasets.text.samples import pad

        ids = [row[m] for batch in gathered for row, m in zip(batch.ids, batch.mask)][:count]
        padded = pad(ids, run.info.preprocess["pad_id"])
        return (padded.ids, padded.mask), f"{len(ids)} {split} samples"
    rows = torch.cat(gathered)[:count]
    return (rows,), f"{len(rows)} {split} samples"


def random_samples(run, count: int, text: bool) -> tuple:
    import torch

    generator = torch.Generator().manual_seed(0)
    if text:
        length = min(16, run.info.input_shape[0])
        ids = torch.randint(0, max(1, run.info.vocab_size), (count, length), generator=generator)
        return ids, torch.ones(count, length, dtype=torch.bool)
    return (torch.randn(count, *run.info.input_shape, generator=generator),)
