"""`dlrun predict` on image files and CSV rows, and `dlrun export` outputs that load in a
fresh Python process without dlrun and give the same predictions."""

import ast
import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..datasets import fixtures
from ..datasets.test_files import houses

pytestmark = pytest.mark.slow  # dlrun predict and export on trained runs, in processes of their own

# Runs in a fresh interpreter: torch, torchvision, PIL, pandas, safetensors; never dlrun.
CONSUMER = r"""
import json, sys
import numpy as np, torch
from PIL import Image

export_dir, fmt, *inputs = sys.argv[1:]
meta = json.load(open(f"{export_dir}/model.json"))
spec = meta["input"]

def tensor(path):
    if spec["kind"] == "table":
        import pandas as pd
        x = pd.read_csv(path)[spec["features"]].to_numpy(np.float32)
        return torch.as_tensor((x - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32))
    image = Image.open(path).convert(spec["mode"])
    from torchvision.transforms import v2
    steps = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    if spec["resize"]: steps.append(v2.Resize(spec["resize"], antialias=True))
    if spec["center_crop"]: steps.append(v2.CenterCrop(spec["center_crop"]))
    if spec["mean"]: steps.append(v2.Normalize(spec["mean"], spec["std"]))
    return v2.Compose(steps)(image)[None]

batch = torch.cat([tensor(p) for p in inputs])
if fmt == "exported":
    model = torch.export.load(f"{export_dir}/model.pt2").module()
else:
    model = torch.jit.load(f"{export_dir}/model.torchscript.pt")
with torch.no_grad():
    out = model(batch)
if meta["task"] == "classification":
    out = out.softmax(dim=1).max(dim=1).values
assert "dlrun" not in sys.modules
print(json.dumps(out.flatten().tolist()))
"""


README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
README_SERVING = next(block for block in re.findall(r"```python\n(.*?)```", README, re.S) if "model.pt2" in block)


def readme_script(run_dir: Path, inputs: dict[str, Path]) -> list[str]:
    """The README's script for exported models, as printed, in the run's folder with its
    input files (cat.png and dog.png, or new_houses.csv); its output lines."""
    for name, source in inputs.items():
        shutil.copy(source, run_dir / name)
    result = subprocess.run(
        [sys.executable, "-c", README_SERVING], cwd=run_dir, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def same_classes(lines: list[str], rows: list[dict]) -> None:
    """The README script's `class probability` lines agree with dlrun predict's rows."""
    assert [line.rsplit(" ", 1)[0] for line in lines] == [r["class"] for r in rows]
    assert [float(line.rsplit(" ", 1)[1]) for line in lines] == pytest.approx(
        [float(r["probability"]) for r in rows], abs=1e-4
    )


def predictions(dlrun_cli, run_dir, inputs, tmp_path):
    out = tmp_path / "preds.csv"
    result = dlrun_cli("predict", str(run_dir), *map(str, inputs), "--output", str(out))
    assert result.returncode == 0, result.stderr
    with open(out) as f:
        return list(csv.DictReader(f))


def consume(export_dir, fmt, inputs):
    result = subprocess.run(
        [sys.executable, "-c", CONSUMER, str(export_dir), fmt, *map(str, inputs)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def export(dlrun_cli, run_dir, *formats):
    result = dlrun_cli("export", str(run_dir), "--format", *formats)
    assert result.returncode == 0, result.stderr
    return run_dir / "export"


def test_digits_predict_and_export(train, dlrun_cli, tmp_path):
    from sklearn.datasets import load_digits

    run_dir = train("epochs=6")
    digits = load_digits()
    inputs = fixtures.digit_pngs(tmp_path, range(6))
    rows = predictions(dlrun_cli, run_dir, inputs, tmp_path)
    assert sum(r["class"] == str(digits.target[i]) for i, r in enumerate(rows)) >= 5
    out = export(dlrun_cli, run_dir, "all")
    assert {p.name for p in out.iterdir()} >= {"model.safetensors", "model.pt2", "model.torchscript.pt", "model.json"}
    expected = [float(r["probability"]) for r in rows]
    for fmt in ("exported", "torchscript"):
        assert consume(out, fmt, inputs) == pytest.approx(expected, abs=1e-5), fmt
    same_classes(readme_script(run_dir, {"cat.png": inputs[0], "dog.png": inputs[1]}), rows[:2])
    spec = json.loads((out / "model.json").read_text())["input"]
    assert spec == {
        "kind": "image",
        "shape": [1, 8, 8],
        "mode": "L",
        "resize": [8, 8],
        "center_crop": None,
        "mean": [pytest.approx(spec["mean"][0])],
        "std": [pytest.approx(spec["std"][0])],
    }


def test_safetensors_export_holds_the_checkpoint_weights(train, dlrun_cli):
    import torch
    from safetensors.torch import load_file

    run_dir = train("epochs=1", "model=mlp")
    out = export(dlrun_cli, run_dir, "safetensors")
    weights = load_file(str(out / "model.safetensors"))
    checkpoint = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["model"]
    assert weights.keys() == checkpoint.keys()
    assert all(torch.equal(weights[k], checkpoint[k]) for k in weights)


def test_image_folder_predict_and_export(train, dlrun_cli, tmp_path):
    root = fixtures.image_tree(tmp_path / "pets", per_class=12, size=20)
    run_dir = train(
        "dataset=image_folder",
        f"dataset.root={root}",
        "dataset.transforms.resize=[24,24]",
        "dataset.transforms.random_crop=16",
        "model=cnn",
        "epochs=2",
        "batch_size=8",
        "loader.num_workers=0",
    )
    inputs = sorted(root.glob("*/*.png"))[:4]
    rows = predictions(dlrun_cli, run_dir, inputs, tmp_path)
    assert {r["class"] for r in rows} <= {"cat", "dog"}
    out = export(dlrun_cli, run_dir, "exported")
    assert consume(out, "exported", inputs) == pytest.approx([float(r["probability"]) for r in rows], abs=1e-5)
    same_classes(readme_script(run_dir, {"cat.png": inputs[0], "dog.png": inputs[1]}), rows[:2])


def test_csv_regression_predict_and_export(train, dlrun_cli, tmp_path):
    path = houses(tmp_path / "houses.csv")
    run_dir = train(
        "dataset=csv", f"dataset.path={path}", "dataset.target=price", "loss=mse", "model=mlp", "epochs=20", "lr=3e-3"
    )
    new = tmp_path / "new.csv"
    houses(new, n=5, seed=9)
    rows = predictions(dlrun_cli, run_dir, [new], tmp_path)
    assert [r["input"] for r in rows] == [f"new.csv:{i}" for i in range(1, 6)]
    values = [float(r["value"]) for r in rows]
    assert all(100_000 < v < 1_500_000 for v in values)  # prices, in the target's units
    out = export(dlrun_cli, run_dir, "exported")
    assert consume(out, "exported", [new]) == pytest.approx(values, rel=1e-5)
    (printed,) = readme_script(run_dir, {"new_houses.csv": new})
    assert [v for (v,) in ast.literal_eval(printed)] == pytest.approx(values, rel=1e-5)


def truncated_run(run_dir):
    from omegaconf import OmegaConf

    from dlrun.config.choices import compose

    (run_dir / "checkpoints").mkdir(parents=True)
    OmegaConf.save(compose(["logger=none"]), run_dir / "config.yaml", resolve=True)
    (run_dir / "checkpoints" / "best.pt").write_bytes(b"PK\x03\x04 truncated")


@pytest.mark.parametrize(
    "setup,args,message",
    [
        (lambda d: None, ["predict", "{d}/nope", "x.png"], "no such run directory"),
        (lambda d: (d / "run").mkdir(), ["predict", "{d}/run", "x.png"], "has no config.yaml"),
        (lambda d: (d / "x.txt").write_text("hi"), ["predict", "{run}", "{d}/x.txt"], "predicts on image files"),
        (lambda d: truncated_run(d / "run2"), ["export", "{d}/run2"], "could not be read"),
    ],
)
def test_predict_and_export_errors(train, dlrun_cli, tmp_path, setup, args, message):
    run_dir = train("epochs=1", "model=mlp") if "{run}" in " ".join(args) else None
    setup(tmp_path)
    result = dlrun_cli(*[a.format(d=tmp_path, run=run_dir) for a in args])
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
