"""dlrun on a real SLURM (scripts/local-slurm): sweeps through `hydra/launcher=slurm`, a job
that dies, a requeued job that continues exactly, a two-task DDP job, Optuna trials as jobs."""

import csv
import json
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml

from dlrun.engine.throughput import WALL_CLOCK
from tests.cluster.local_slurm import require_slurm, squeue_ids
from tests.processes import DLRUN, QUIET, cli_env, dlrun, start

pytestmark = pytest.mark.slow
ON_SLURM = ("hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", *QUIET)

CRASH = '''
import os
import signal

from torch import nn


class Net(nn.Module):
    """Dies the way an out-of-memory kill does: no Python error, no result."""

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.out = nn.Linear(in_features, num_classes)

    def forward(self, x):
        os.kill(os.getpid(), signal.SIGKILL)
'''


@pytest.fixture(scope="module", autouse=True)
def slurm():
    require_slurm()


def report(sweep: Path) -> dict[str, dict]:
    with open(sweep / "report.csv") as f:
        return {row["job"]: row for row in csv.DictReader(f)}


def test_a_sweep_runs_as_slurm_jobs_and_a_job_killed_for_good_is_reported(tmp_path):
    (tmp_path / "crash.py").write_text(CRASH)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "crash.yaml").write_text(
        "name: custom\nclass_path: crash.Net\nkwargs: null\nfreeze: null\nunfreeze_at_epoch: null\nbackbone_lr: null\n"
    )
    done = dlrun(
        "-m",
        "--config-dir",
        "conf",
        *ON_SLURM,
        "model=crash,mlp,cnn",
        "epochs=1",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "submitted 3 SLURM job(s)" in done.stdout
    jobs = report(tmp_path / "sweep")
    assert [jobs[j]["status"] for j in ("1", "2")] == ["completed", "completed"]
    assert jobs["0"]["status"].startswith("failed")
    failed = json.loads((tmp_path / "sweep" / "0" / "failed.json").read_text())
    assert failed["state"] in ("FAILED", "CANCELLED", "OUT_OF_MEMORY") and Path(failed["log"]).is_file()
    for job in ("1", "2"):
        summary = json.loads((tmp_path / "sweep" / job / "summary.json").read_text())
        assert summary["slurm"]["job_id"] and summary["slurm"]["restarts"] == 0
    assert (tmp_path / "sweep" / "report.png").is_file()
    assert sorted(p.name for p in (tmp_path / "sweep" / ".submitit").iterdir() if p.is_dir())  # the jobs' logs


def weights(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)["model"]


def metric_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in csv.DictReader(f)]


def wait_for_epochs(metrics: Path, epochs: int, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metrics.is_file() and len(metrics.read_text().splitlines()) > epochs:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail(f"{metrics} did not reach epoch {epochs}")


def wait_for_resume(sweep: Path, times: int, proc, timeout: float = 120) -> None:
    """Until the job's log says it continued its run `times` times (SLURM started it again)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = "".join(p.read_text() for p in (sweep / ".submitit").rglob("*_log.out"))
        if logs.count("continuing") >= times:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail(f"the job did not continue its run {times} time(s)")


def test_a_preempted_and_a_requeued_job_continue_their_run_to_the_same_weights(tmp_path):
    """SLURM's warning signal (what preemption and the time limit send, via submitit) and then
    `scontrol requeue`: the job saves last.pt, starts again and continues the same run."""
    run = ("model=mlp", "batch_size=16", "epochs=16", "trainer.deterministic=true", *QUIET)
    name = f"dlrun-requeue-{tmp_path.name}"
    sweep = start("-m", *ON_SLURM, *run, f"hydra.launcher.name={name}", "hydra.sweep.dir=sweep", cwd=tmp_path)
    metrics = tmp_path / "sweep" / "0" / "metrics.csv"
    wait_for_epochs(metrics, 1, sweep)
    (job,) = squeue_ids(name)
    subprocess.run(["scancel", "--signal=USR2", job], check=True)  # what SLURM sends before the end
    reference = start(*run, "hydra.run.dir=reference", cwd=tmp_path)  # while the job waits to start again
    wait_for_resume(tmp_path / "sweep", 1, sweep)  # requeued, started again, resumed
    wait_for_epochs(metrics, len(metrics.read_text().splitlines()), sweep)  # and one more epoch trained
    subprocess.run(["scontrol", "requeue", job], check=True)  # SIGTERM, back in the queue
    out, err = sweep.communicate(timeout=240)
    assert sweep.returncode == 0, err[-3000:]
    assert reference.wait(timeout=120) == 0
    run_dir = tmp_path / "sweep" / "0"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["resumed"] and summary["slurm"]["restarts"] == 2
    logs = "".join(p.read_text() for p in (tmp_path / "sweep" / ".submitit").rglob("*_log.*"))
    assert logs.count("continuing") == 2 and "stopped by SLURM's warning" in logs
    assert metric_rows(run_dir) == metric_rows(tmp_path / "reference")  # one run: 16 epochs, no repeats
    ours, theirs = weights(run_dir), weights(tmp_path / "reference")
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)


def test_a_job_of_two_tasks_trains_one_ddp_run(tmp_path):
    done = dlrun(
        "-m",
        *ON_SLURM,
        "model=mlp",
        "epochs=2",
        "trainer.num_nodes=2",
        "trainer.devices=1",
        "hydra.launcher.nodes=1",
        "hydra.launcher.tasks_per_node=2",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = [p for p in (tmp_path / "sweep").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert [p.name for p in runs] == ["0"]
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["distributed"]["world_size"] == 2 and summary["distributed"]["nodes"] == 2
    assert summary["slurm"]["tasks"] == "2"
    (task0,) = (tmp_path / "sweep" / ".submitit").rglob("*_0_log.out")
    (task1,) = (tmp_path / "sweep" / ".submitit").rglob("*_1_log.out")
    said0, said1 = task0.read_text(), task1.read_text()
    assert any(line.startswith("#0 ") and "val/acc" in line for line in said0.splitlines()), said0[
        -3000:
    ]  # the job's line
    assert "#0 " not in said1 and "val/acc" not in said1  # one task speaks


def test_srun_in_a_batch_script_trains_one_run_of_two_nodes(tmp_path):
    """A user's own batch script: one task per node, each running `dlrun`."""
    (tmp_path / "job.sh").write_text(
        f"#!/bin/bash\nsrun {DLRUN} model=mlp epochs=1 trainer.num_nodes=2 trainer.devices=1 {' '.join(QUIET)}\n"
    )
    job = subprocess.run(
        ["sbatch", "--parsable", "--ntasks=2", "--cpus-per-task=1", "--output=job.log", "job.sh"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
        check=True,
    )
    wait_until_gone(job.stdout.strip().split(";")[0])  # (sbatch --wait polls at doubling intervals)
    assert "run directory:" in (tmp_path / "job.log").read_text(), (tmp_path / "job.log").read_text()[-3000:]
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    assert run_dir.name.startswith("slurm-")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["distributed"]["world_size"] == 2 and summary["slurm"]["tasks"] == "2"


def wait_until_gone(job: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True, timeout=30)
        if listed.returncode == 0 and not listed.stdout.strip():
            return
        time.sleep(0.2)
    pytest.fail(f"SLURM job {job} still queued or running after {timeout} s")


def test_optuna_trials_run_as_slurm_jobs(tmp_path):
    done = dlrun(
        "-m",
        *ON_SLURM,
        "hydra/sweeper=optuna",
        "model=mlp",
        "epochs=1",
        "lr=interval(1e-3, 1e-1)",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert results["trials"]["complete"] == 2
    jobs = {json.loads((tmp_path / "sweep" / n / "summary.json").read_text())["slurm"]["job_id"] for n in "01"}
    assert len(jobs) == 2
    env = (tmp_path / "sweep" / "0" / ".hydra" / "overrides.yaml").read_text()
    assert "OMP_NUM_THREADS" not in env  # the cluster gives each job its CPUs: nothing divided here


@pytest.mark.parametrize(
    "overrides, message",
    [
        (("hydra.launcher.nodes=0",), "hydra.launcher.nodes=0 is not valid"),
        (
            ("hydra/sweeper=optuna", "lr=interval(1e-3, 1e-1)", "hydra.launcher.timeout_min=0"),
            "hydra.launcher.timeout_min=0 is not valid",
        ),
        (("hydra.launcher.tasks_per_node=2",), "make the tasks equal trainer.num_nodes"),
        (("hydra.launcher.partition=nowhere",), "SLURM refused the job(s): sbatch: error: Batch job submission failed"),
    ],
)
def test_wrong_launcher_settings_are_named_before_anything_runs(tmp_path, overrides, message):
    done = dlrun("-m", *ON_SLURM, "epochs=1", *overrides, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stderr.count(message) == 1 and "Traceback" not in done.stderr
    assert not list(tmp_path.rglob("summary.json"))


def test_the_slurm_launcher_without_m_is_refused_instead_of_training_here(tmp_path):
    done = dlrun("hydra/launcher=slurm", "epochs=1", cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "add -m" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "outputs").exists()
