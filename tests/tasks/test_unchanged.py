"""Classification and regression moved into dlrun.tasks without a change of behaviour: the
same seed gives the same metrics.csv values, test metrics and best.pt weights as dlrun
recorded before the move (tests/tasks/recorded_before_tasks.json, written by the code at
commit 3257ff3 on this project's CPU machine; CPU results are exact there, run to run)."""

import csv
import hashlib
import json
from pathlib import Path

import pytest
import torch

from dlrun.engine.throughput import WALL_CLOCK

RECORDED = json.loads((Path(__file__).parent / "recorded_before_tasks.json").read_text())
CASES = {
    "classification": ["epochs=2", "trainer.limit_train_batches=8"],
    "regression": ["dataset=diabetes", "model=mlp", "loss=mse", "epochs=2"],
}


def weights_digest(path: Path) -> str:
    state = torch.load(path, weights_only=True)["model"]
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("task", sorted(CASES))
def test_the_same_seed_gives_what_it_gave_before_the_tasks_package(train, tmp_path, task):
    run_dir = train(*CASES[task], run_dir=tmp_path / task)
    with open(run_dir / "metrics.csv") as f:
        rows = [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in csv.DictReader(f)]
    recorded = RECORDED[task]
    assert rows == recorded["rows"]
    assert json.loads((run_dir / "summary.json").read_text())["test"] == recorded["test"]
    assert weights_digest(run_dir / "checkpoints" / "best.pt") == recorded["weights"]
