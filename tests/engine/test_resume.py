"""Interrupted runs resume exactly: killed anywhere (SIGKILL between epochs or mid-epoch,
SIGTERM), `dlrun resume` ends with the weights and metrics of an uninterrupted run."""

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dlrun.engine.checkpoint import load_checkpoint
from dlrun.engine.throughput import WALL_CLOCK

ARGS = ["logger=none", "trainer.progress=none", "model.channels=[64,128]", "batch_size=16", "epochs=3", "seed=3"]


def dlrun(*args, cwd):
    exe = Path(sys.executable).parent / "dlrun"
    return subprocess.Popen([str(exe), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(process, timeout=240):
    out, _ = process.communicate(timeout=timeout)
    return process.returncode, out


def run_dir_of(cwd: Path) -> Path:
    (run_dir,) = (cwd / "outputs" / "runs").iterdir()
    return run_dir


def train_state(run_dir: Path):
    try:
        return load_checkpoint(run_dir / "checkpoints" / "last.pt")["train_state"]
    except Exception:  # not written yet, or being replaced this instant
        return None


def stop_when(process, cwd: Path, ready, sig=signal.SIGKILL, timeout=120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list((cwd / "outputs" / "runs").glob("*")) if (cwd / "outputs" / "runs").exists() else []
        state = train_state(runs[0]) if runs else None
        if state is not None and ready(state):
            process.send_signal(sig)
            return runs[0]
        if process.poll() is not None:
            raise AssertionError(f"the run ended before it could be interrupted: {process.communicate()[0][-2000:]}")
        time.sleep(0.005)
    process.kill()
    raise AssertionError("the run never reached the point to interrupt it")


def metrics(run_dir: Path):
    with open(run_dir / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, trained once for every test here."""
    cwd = tmp_path_factory.mktemp("reference")
    code, out = finished(dlrun(*ARGS, cwd=cwd))
    assert code == 0, out
    run_dir = run_dir_of(cwd)
    return load_checkpoint(run_dir / "checkpoints" / "last.pt")["model"], metrics(run_dir)


def assert_same_as(reference, run_dir: Path):
    weights, rows = reference
    final = load_checkpoint(run_dir / "checkpoints" / "last.pt")["model"]
    for name, tensor in weights.items():
        assert torch.equal(final[name], tensor), f"{name} differs from the uninterrupted run"
    assert metrics(run_dir) == rows, "metrics.csv differs (or has duplicate rows)"
    assert (run_dir / "summary.json").is_file()


def resume(run_dir: Path, cwd: Path):
    return dlrun("resume", str(run_dir), cwd=cwd)


@pytest.mark.slow
def test_sigkill_between_epochs(reference, tmp_path):
    # checkpoints only between epochs: killed after the first epoch's, then the resume after the second's
    first = dlrun(*ARGS, cwd=tmp_path)
    run_dir = stop_when(first, tmp_path, lambda s: s["epoch"] == 2)
    finished(first)
    assert train_state(run_dir)["batch"] == 0
    second = resume(run_dir, tmp_path)
    stop_when(second, tmp_path, lambda s: s["epoch"] == 3)
    finished(second)
    code, out = finished(resume(run_dir, tmp_path))
    assert code == 0, out
    assert_same_as(reference, run_dir)


@pytest.mark.slow
def test_sigkill_mid_epoch_with_step_checkpoints(reference, tmp_path):
    first = dlrun(*ARGS, "trainer.checkpoint_every_n_steps=7", cwd=tmp_path)
    run_dir = stop_when(first, tmp_path, lambda s: s["epoch"] == 2 and 10 <= s["batch"] <= 50)
    finished(first)
    assert train_state(run_dir)["batch"] > 0, "killed mid-epoch"
    second = resume(run_dir, tmp_path)
    stop_when(second, tmp_path, lambda s: s["epoch"] == 3 and 10 <= s["batch"] <= 50)
    finished(second)
    code, out = finished(resume(run_dir, tmp_path))
    assert code == 0, out
    assert_same_as(reference, run_dir)


@pytest.mark.slow
def test_sigterm_saves_and_the_resume_finishes(reference, tmp_path):
    first = dlrun(*ARGS, cwd=tmp_path)
    run_dir = stop_when(first, tmp_path, lambda s: s["epoch"] == 2, sig=signal.SIGTERM)
    code, out = finished(first)
    assert code == 128 + signal.SIGTERM, out
    assert f"dlrun resume {run_dir}" in out.replace("\n", "")
    assert train_state(run_dir)["batch"] > 0, "the signal's checkpoint is mid-epoch"
    code, out = finished(resume(run_dir, tmp_path))
    assert code == 0, out
    assert_same_as(reference, run_dir)


@pytest.mark.slow
def test_truncated_last_checkpoint_falls_back_to_the_previous(reference, tmp_path):
    first = dlrun(*ARGS, cwd=tmp_path)
    run_dir = stop_when(first, tmp_path, lambda s: s["epoch"] == 3)  # two saves: last.pt and last.prev.pt
    finished(first)
    last = run_dir / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    code, out = finished(resume(run_dir, tmp_path))
    assert code == 0, out
    assert "last.pt: unreadable" in out and "resuming from last.prev.pt" in out
    assert_same_as(reference, run_dir)


def test_resume_errors(dlrun_cli, make_cfg, tmp_path):
    from omegaconf import OmegaConf

    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    OmegaConf.save(make_cfg("logger=none"), run_dir / "config.yaml", resolve=True)
    for name in ("last.pt", "last.prev.pt"):
        (run_dir / "checkpoints" / name).write_bytes(b"PK\x03\x04broken")
    result = dlrun_cli("resume", str(run_dir))
    assert result.returncode == 2 and "no checkpoint to resume from" in result.stderr
    assert "Traceback" not in result.stderr
    (run_dir / "summary.json").write_text("{}")
    done = dlrun_cli("resume", str(run_dir))
    assert done.returncode == 2 and "finished already" in done.stderr
    missing = dlrun_cli("resume", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not a dlrun run directory" in missing.stderr


@pytest.mark.slow
def test_resumed_run_continues_its_wandb_run(tmp_path):
    from wandb_records import run_records

    env_args = [a for a in ARGS if a != "logger=none"]
    first = dlrun(*env_args, "logger=wandb", cwd=tmp_path)
    run_dir = stop_when(first, tmp_path, lambda s: s["epoch"] == 2, sig=signal.SIGTERM)
    code, out = finished(first)
    assert code == 128 + signal.SIGTERM, out
    code, out = finished(resume(run_dir, tmp_path))
    assert code == 0, out
    offline = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline) == 2, "the interrupted part and the resumed part"
    ids = {run_records(path)["run"].run_id for path in offline}
    assert len(ids) == 1, "both parts belong to one W&B run"
    epochs = [h["epoch"] for path in offline for h in run_records(path)["history"] if "val/acc" in h]
    assert sorted(epochs) == [1, 2, 3]


def test_augmented_images_in_memory_resume_bit_identical(train, tmp_path, monkeypatch):
    """Crop and flip per batch from the loader's generator: a run stopped mid-epoch and resumed
    ends with the weights of the uninterrupted run."""
    from tests.datasets import fixtures
    from tests.stopping import crash_then_resume

    root = fixtures.image_tree(tmp_path / "pets", per_class=12, size=8)
    args = (
        "dataset=image_folder",
        f"dataset.root={root}",
        "dataset/transforms=augment",
        "dataset.transforms.resize=8",
        "dataset.transforms.random_crop=6",
        "model.channels=[8]",
        "epochs=3",
        "batch_size=4",
        "trainer.checkpoint_every_n_steps=2",
        "trainer.log_every_n_steps=1",
    )
    reference = load_checkpoint(train(*args, run_dir=tmp_path / "ref") / "checkpoints" / "last.pt")["model"]
    crash_then_resume(train, args, tmp_path / "stopped", monkeypatch, at_step=7)
    final = load_checkpoint(tmp_path / "stopped" / "checkpoints" / "last.pt")["model"]
    for name, tensor in reference.items():
        assert torch.equal(final[name], tensor), f"{name} differs from the uninterrupted run"
