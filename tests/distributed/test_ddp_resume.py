"""A two-process run killed with SIGKILL: its workers stop with it, and `dlrun resume`
finishes it (again on two processes, from the last checkpoint rank 0 wrote)."""

import csv
import json
import os
import signal
import time

import pytest

from dlrun.engine.checkpoint import load_checkpoint
from tests.processes import dlrun, start

ARGS = (
    "trainer.device=cpu",
    "trainer.devices=2",
    "epochs=6",
    "logger=none",
    "trainer.progress=none",
    "model.channels=[64,128]",
    "trainer.log_every_n_steps=5",
    "hydra.run.dir=run",
)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_a_killed_two_process_run_resumes_and_finishes(tmp_path):
    parent = start(*ARGS, cwd=tmp_path)
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if load_checkpoint(last)["train_state"]["epoch"] >= 3:  # two epochs trained
                break
        except Exception:
            pass
        assert parent.poll() is None, parent.communicate()[1][-2000:]
        time.sleep(0.02)
    workers = children_of(parent.pid)
    assert len(workers) >= 2, "the two training processes are the dlrun process's children"
    parent.send_signal(signal.SIGKILL)
    parent.communicate(timeout=60)
    deadline = time.monotonic() + 60
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(w) for w in workers), "the workers trained on after their parent was killed"
    assert not (tmp_path / "run" / "summary.json").exists()

    resumed = dlrun("resume", "run", cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["resumed"] and summary["distributed"]["world_size"] == 2
    with open(tmp_path / "run" / "metrics.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.slow
def test_a_two_process_run_continues_on_one_process_from_a_checkpoint_between_epochs(tmp_path):
    first = dlrun(*ARGS, "trainer.max_epochs=2", cwd=tmp_path)  # stands for an interruption after epoch 2
    assert first.returncode == 0, first.stderr[-2000:]
    (tmp_path / "run" / "summary.json").unlink()
    (tmp_path / "run" / "config.yaml").write_text(
        (tmp_path / "run" / "config.yaml").read_text().replace("max_epochs: 2", "max_epochs: null")
    )
    resumed = dlrun("resume", "run", "--devices", "1", cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["distributed"]["world_size"] == 1 and summary["resumed"]
    with open(tmp_path / "run" / "metrics.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.slow
def test_sigterm_to_the_dlrun_process_saves_through_rank_0_and_stops_every_rank(tmp_path):
    parent = start(*ARGS, cwd=tmp_path)
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 120
    while not last.exists() and time.monotonic() < deadline:
        assert parent.poll() is None, parent.communicate()[1][-2000:]
        time.sleep(0.02)
    parent.send_signal(signal.SIGTERM)
    out, err = parent.communicate(timeout=120)
    assert parent.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert err.count("stopped by SIGTERM; a checkpoint was saved. Continue with: dlrun resume") == 1
    assert "Traceback" not in err
    assert load_checkpoint(last)["train_state"]["epoch"] >= 2 and not (tmp_path / "run" / "summary.json").exists()
    resumed = dlrun("resume", "run", cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    with open(tmp_path / "run" / "metrics.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3, 4, 5, 6]
