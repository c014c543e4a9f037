"""Two processes with gloo on the CPU, started by dlrun itself: one run, whatever the
number of processes (one directory, one metrics.csv, one W&B run)."""

import argparse
import csv
import json

import pytest
import torch

from tests.processes import dlrun

CPU2 = ("trainer.device=cpu", "trainer.devices=2", "trainer.progress=none")
# digits split into 1297/231/269 train/val/test samples: neither evaluation split divides by 2
ODD_SPLITS = ("dataset.test_fraction=0.1496", "dataset.val_fraction=0.151")


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("ddp")
    result = dlrun(*CPU2, *ODD_SPLITS, "epochs=10", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd, result


@pytest.mark.slow
def test_two_processes_write_one_run_directory_one_metrics_file_and_one_wandb_run(ddp_run):
    cwd, result = ddp_run
    (run_dir,) = (cwd / "outputs" / "runs").iterdir()
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 11))
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["distributed"]["world_size"] == 2 and summary["distributed"]["backend"] == "gloo"
    assert result.stdout.count("run directory:") == 1
    state = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["model"]
    assert not any(key.startswith("module.") for key in state), "checkpoints hold the module, not DDP's wrapper"


@pytest.mark.slow
def test_two_processes_converge_like_one_with_the_same_global_batch(ddp_run, train):
    cwd, _ = ddp_run
    (run_dir,) = (cwd / "outputs" / "runs").iterdir()
    ddp = json.loads((run_dir / "summary.json").read_text())
    single = json.loads((train(*ODD_SPLITS, "epochs=10") / "summary.json").read_text())
    assert ddp["final"]["val/acc"] > 0.9, "it converges"
    assert abs(ddp["final"]["val/acc"] - single["final"]["val/acc"]) <= 0.02


@pytest.mark.slow
def test_two_processes_score_every_evaluation_sample_once(ddp_run):
    """Validation (231 samples) and test (269) over two processes give exactly what one
    process gives for the same weights: no sample counted twice to even out the shares."""
    from sklearn.datasets import load_digits

    from dlrun.commands import eval as eval_command
    from dlrun.datasets.splits import split_indices

    _, val, test = split_indices(1797, load_digits().target, val_fraction=0.151, test_fraction=0.1496, seed=0)
    assert (len(val), len(test)) == (231, 269)  # the splits the test means
    cwd, _ = ddp_run
    (run_dir,) = (cwd / "outputs" / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    one_process = {}  # dlrun eval's own code, in this one process
    for split in ("val", "test"):
        out = cwd / f"eval_{split}.json"
        args = argparse.Namespace(
            run=str(run_dir), overrides=[], checkpoint="best", trust=[], split=split, output=str(out)
        )
        assert eval_command.main(args) == 0
        one_process[split] = json.loads(out.read_text())["metrics"]
    best = summary["best"]["metrics"]
    for name in ("acc", "f1"):  # counts over the samples: exactly equal
        assert best[f"val/{name}"] == one_process["val"][f"val/{name}"], (name, best, one_process["val"])
        assert summary["test"][f"test/{name}"] == one_process["test"][f"test/{name}"], name
    assert best["val/loss"] == pytest.approx(one_process["val"]["val/loss"], rel=1e-6)
    assert summary["test"]["test/loss"] == pytest.approx(one_process["test"]["test/loss"], rel=1e-6)


@pytest.mark.slow
def test_eval_reads_a_two_process_run(ddp_run):
    cwd, _ = ddp_run
    (run_dir,) = (cwd / "outputs" / "runs").iterdir()
    result = dlrun("eval", str(run_dir), cwd=cwd, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "test/acc" in result.stdout


@pytest.mark.slow
def test_a_sweep_of_two_process_runs_gives_one_directory_per_job_and_a_report(tmp_path):
    result = dlrun("-m", *CPU2, "lr=1e-3,3e-3", "epochs=2", "logger=none", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir())
    assert jobs == ["0", "1"]
    for job in jobs:
        assert json.loads((tmp_path / "sweep" / job / "summary.json").read_text())["distributed"]["world_size"] == 2
    assert (tmp_path / "sweep" / "report.csv").is_file()


def test_a_global_batch_that_does_not_divide_is_named(tmp_path):
    result = dlrun(*CPU2, "batch_size=63", "epochs=1", "logger=none", cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    assert "batch_size=63 is the global batch" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("trainer.devices=0",), "trainer.devices=0 must be auto or a whole number >= 1"),
        (("trainer.num_nodes=2",), "needs a rendezvous endpoint"),
        (("trainer.rdzv_endpoint=localhost",), "must be HOST:PORT"),
    ],
)
def test_bad_process_settings_are_named_before_anything_starts(tmp_path, args, message):
    result = dlrun(*args, "logger=none", cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_bad_value_found_in_the_workers_is_one_short_message(tmp_path):
    result = dlrun(*CPU2, "model=mlp", "model.dropout=1.5", "epochs=1", "logger=none", cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "dropout" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_two_process_trial_is_pruned_by_rank_0_and_every_rank_stops(tmp_path):
    from optuna.trial import TrialState

    from tests.search.helpers import load_study

    result = dlrun(
        "-m",
        "hydra/sweeper=optuna",
        "lr=tag(log, interval(1e-5, 1e-1))",
        *CPU2,
        "epochs=3",
        "logger=none",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.pruner.n_startup_trials=1",
        "hydra.sweeper.enqueue=[{lr: 0.03}, {lr: 0.00001}]",
        "hydra.sweep.dir=search",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    good, bad = load_study(tmp_path / "search" / "optuna.journal", "search").trials
    assert good.state == TrialState.COMPLETE and bad.state == TrialState.PRUNED
    summary = json.loads((tmp_path / "search" / "1" / "summary.json").read_text())
    assert summary["status"] == "pruned" and summary["pruned_at_epoch"] == 1
    assert summary["distributed"]["world_size"] == 2


FAILING_RANK = '''
import os
import torch
from torch import nn


class Net(nn.Module):
    """Trains on every rank; on rank 1 its 30th forward pass fails (as an out-of-memory would)."""

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.layer, self.calls = nn.Linear(in_features, num_classes), 0

    def forward(self, x):
        self.calls += 1
        if os.environ.get("RANK") == "1" and self.calls == 30:
            raise RuntimeError("CUDA out of memory (simulated on rank 1)")
        return self.layer(x.flatten(1))
'''


@pytest.mark.slow
def test_a_failing_rank_ends_the_run_with_its_error_not_a_hang(tmp_path):
    (tmp_path / "flaky.py").write_text(FAILING_RANK)
    result = dlrun(
        *CPU2,
        "model=custom",
        "model.class_path=flaky.Net",
        "epochs=5",
        "logger=none",
        "hydra.run.dir=run",
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "training process 1 failed" in result.stderr and "out of memory (simulated on rank 1)" in result.stderr
    assert "Traceback" not in result.stderr
    assert "CUDA out of memory" in (tmp_path / "run" / "error.log").read_text()
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file(), "the epochs before the failure are kept"
