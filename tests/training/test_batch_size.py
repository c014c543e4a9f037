"""batch_size=auto: the largest batch that fits, searched before the run, bounded on the CPU by
trainer.max_memory_gb (the run stays under it), written into config.yaml and summary.json so
that `reproduce` replays the number; and on a GPU by its memory."""

import csv
import json

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from dlrun.training.batch_size import Search, extrapolated, repeated

pytestmark = pytest.mark.slow  # a resnet18 trained in processes of their own


def image_folder(root, classes=4, per_class=150):
    rng = np.random.default_rng(0)
    for c in range(classes):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(per_class):
            pixels = (rng.random((64, 64, 3)) * 80 + c * 40).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"c{c}" / f"{i}.png")
    return root


def test_the_cpu_search_keeps_the_run_under_max_memory_gb_and_reproduce_replays_it(dlrun_cli, tmp_path):
    folder = image_folder(tmp_path / "images")
    args = ("epochs=1", "logger=none", "trainer.progress=none", "model=resnet18", "dataset=image_folder",
            f"dataset.root={folder}", "dataset.transforms.resize=[96,96]", "trainer=cpu")  # fmt: skip
    result = dlrun_cli(*args, "batch_size=auto", "trainer.max_memory_gb=2", "hydra.run.dir=auto")
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "auto"
    chosen = yaml.safe_load((run_dir / "config.yaml").read_text())["batch_size"]
    summary = json.loads((run_dir / "summary.json").read_text())
    search = summary["batch_size_search"]
    assert isinstance(chosen, int) and search["chosen"] == chosen
    assert 8 <= chosen < 480, search  # bounded by the memory, not by the 480 training images
    assert [t["batch"] for t in search["tried"]][:3] == [2, 4, 8]
    assert any(not t["fits"] for t in search["tried"]) and search["budget_mb"] == pytest.approx(0.9 * 2048)
    with open(run_dir / "metrics.csv") as f:
        peaks = [float(row["peak_memory_mb"]) for row in csv.DictReader(f)]
    assert max(peaks) <= 2 * 1024, peaks  # the run stayed under trainer.max_memory_gb
    assert f"batch_size=auto: {chosen}, the largest that fits" in (run_dir / "train.log").read_text()

    again = dlrun_cli("reproduce", str(run_dir), "--verify")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "all metrics identical" in again.stderr  # the number replayed: the same run
    (reproduced,) = (tmp_path / "outputs" / "runs").iterdir()
    assert "batch_size=auto" not in (reproduced / "train.log").read_text()


def test_sizes_past_the_line_of_the_last_two_are_not_tried():
    search = Search(1000.0, "test")
    search.tried += [{"batch": 64, "peak_mb": 600.0, "fits": True}, {"batch": 128, "peak_mb": 800.0, "fits": True}]
    assert extrapolated(search, 256) == pytest.approx(1200.0)
    text_like = type(
        "TextBatch", (), {"__init__": lambda self, ids, mask: setattr(self, "ids", ids) or setattr(self, "mask", mask)}
    )
    batch = repeated(text_like(torch.arange(6).view(3, 2), torch.ones(3, 2, dtype=torch.bool)), 7, torch.device("cpu"))
    assert batch.ids.shape == (7, 2) and batch.ids[3].tolist() == [0, 1]
    assert [t["k"] for t in repeated([{"k": torch.tensor(1)}, {"k": torch.tensor(2)}], 3, torch.device("cpu"))] == [
        1,
        2,
        1,
    ]


@pytest.mark.gpu
def test_on_a_gpu_it_fills_the_gpus_memory(dlrun_cli, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    folder = image_folder(tmp_path / "images", per_class=40)
    result = dlrun_cli("epochs=1", "logger=none", "trainer.progress=none", "model=resnet18", "dataset=image_folder",
                       f"dataset.root={folder}", "trainer.device=cuda", "batch_size=auto", "hydra.run.dir=auto")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "auto" / "summary.json").read_text())
    total = torch.cuda.get_device_properties(0).total_memory / 2**20
    assert summary["batch_size_search"]["budget_mb"] == pytest.approx(0.9 * total)
    assert summary["batch_size_search"]["chosen"] >= 2 and summary["throughput"]["peak_memory_mb"] <= total
