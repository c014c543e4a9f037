"""`dlrun export --format onnx`: the parity check it prints (onnxruntime against eager PyTorch at
batch 1 and 8 on the run's own data, max abs <= 1e-4) for the default CNN, an MLP on a table,
torchvision's resnet18 and a timm model; and the file run in a process that has only
onnxruntime and numpy (no torch, no dlrun) giving dlrun predict's answers."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ..datasets.fixtures import digit_pngs
from ..datasets.test_files import houses

pytestmark = pytest.mark.slow  # trained runs and exports in processes of their own

# Runs with `python -S -I` and a sys.path holding onnxruntime and numpy only (not site-packages).
ONNX_ONLY = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np, onnxruntime
from importlib.util import find_spec
assert find_spec("torch") is None and find_spec("dlrun") is None and find_spec("PIL") is None
session = onnxruntime.InferenceSession(sys.argv[2], providers=["CPUExecutionProvider"])
batch = np.load(sys.argv[3])
out = session.run(None, {session.get_inputs()[0].name: batch})[0]
print(json.dumps(out.tolist()))
"""


def onnx_only_path(tmp_path: Path) -> Path:
    """A folder with links to the installed onnxruntime and numpy, and nothing else."""
    import numpy
    import onnxruntime

    folder = tmp_path / "onnx_only"
    folder.mkdir()
    for package in (numpy, onnxruntime):
        source = Path(package.__file__).parent
        (folder / source.name).symlink_to(source)
        libs = source.parent / f"{source.name}.libs"  # the wheels' bundled shared libraries
        if libs.is_dir():
            (folder / libs.name).symlink_to(libs)
    return folder


def export_onnx(dlrun_cli, run_dir, *args) -> float:
    """The worst max abs difference the export printed (batch 1 and 8), relative to the largest
    output where that is over 1."""
    result = dlrun_cli("export", str(run_dir), "--format", "onnx", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stderr.splitlines() if line.startswith("onnx check:"))
    figures = dict(re.findall(r"batch (\d+): ([0-9.e+-]+)", line))
    assert set(figures) == {"1", "8"}, line
    assert (run_dir / "export" / "model.onnx").is_file()
    meta = json.loads((run_dir / "export" / "model.json").read_text())
    assert meta["files"] == ["model.onnx"] and meta["input"]["kind"] in ("image", "table")
    worst = max(float(v) for v in figures.values())
    scale = re.search(r"outputs up to ([0-9.e+-]+)", line)
    return worst / float(scale.group(1)) if scale else worst


def test_digits_cnn_onnx_runs_without_torch_and_answers_as_predict(train, dlrun_cli, tmp_path):
    run_dir = train("epochs=3")
    assert export_onnx(dlrun_cli, run_dir) <= 1e-4
    files = digit_pngs(tmp_path, range(8))
    out = tmp_path / "p.csv"
    assert dlrun_cli("predict", str(run_dir), *map(str, files), "--output", str(out)).returncode == 0
    rows = list(csv.DictReader(open(out)))
    meta = json.loads((run_dir / "export" / "model.json").read_text())
    spec = meta["input"]  # the model card's preprocessing, as a user without dlrun applies it
    pixels = [
        np.asarray(Image.open(f).convert(spec["mode"]).resize(spec["resize"][::-1], Image.BILINEAR)) for f in files
    ]
    batch = ((np.stack(pixels)[:, None].astype(np.float32) / 255 - spec["mean"][0]) / spec["std"][0]).astype(np.float32)
    np.save(tmp_path / "batch.npy", batch)
    done = subprocess.run(
        [sys.executable, "-S", "-I", "-c", ONNX_ONLY, str(onnx_only_path(tmp_path)),
         str(run_dir / "export" / "model.onnx"), str(tmp_path / "batch.npy")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    logits = np.asarray(json.loads(done.stdout))
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert [meta["class_names"][i] for i in logits.argmax(1)] == [r["class"] for r in rows]
    assert probabilities.max(1) == pytest.approx([float(r["probability"]) for r in rows], abs=1e-5)


def test_a_table_mlp_exports_to_onnx(train, dlrun_cli, tmp_path):
    path = houses(tmp_path / "houses.csv")
    run_dir = train("dataset=csv", f"dataset.path={path}", "dataset.target=price", "loss=mse", "model=mlp", "epochs=3")
    assert export_onnx(dlrun_cli, run_dir) <= 1e-4


@pytest.mark.parametrize(
    "model", [("model=resnet18",), ("model=timm", "model.arch=resnet10t")], ids=["resnet18", "timm"]
)
def test_torchvision_and_timm_classifiers_export_to_onnx(train, dlrun_cli, model):
    run_dir = train(*model, "epochs=1")
    assert export_onnx(dlrun_cli, run_dir) <= 1e-4


def test_a_fixed_batch_onnx_program_takes_batch_1(train, dlrun_cli):
    run_dir = train("epochs=1")
    fixed = dlrun_cli("export", str(run_dir), "--format", "onnx", "--no-dynamic-batch")
    assert fixed.returncode == 0, fixed.stderr
    assert re.search(r"onnx check: .*batch 1: [0-9.e+-]+$", fixed.stderr, re.M)  # batch 1 only: the batch is fixed
    import onnxruntime

    session = onnxruntime.InferenceSession(str(run_dir / "export" / "model.onnx"))
    assert session.get_inputs()[0].shape[0] == 1


def test_a_detector_is_refused_with_the_reason():
    from dlrun.commands.export import formats_for
    from dlrun.errors import DlrunError

    with pytest.raises(DlrunError, match="cannot take torchvision's detectors"):
        formats_for(["onnx"], boxes=True)
    assert "onnx" not in formats_for(["all"], boxes=True)
