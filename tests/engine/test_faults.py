"""Faults that lose nothing: a checkpoint write that fails, a tracker that dies, running out of memory."""

import json
import logging
import os
import resource
import signal
import textwrap
from pathlib import Path

import pytest

from dlrun.engine.checkpoint import load_checkpoint
from dlrun.engine.loggers import CSVLogger
from dlrun.errors import DlrunError


@pytest.fixture
def file_size_limit():
    """`limit(n)`: from now on this process cannot write a file beyond n bytes (the write fails
    as on a full disk); the previous limit is restored afterwards."""
    saved_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    saved_signal = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a failed write, not a killed process

    def limit(n: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, saved_limit[1]))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, saved_limit)
    signal.signal(signal.SIGXFSZ, saved_signal)


def after_epoch(monkeypatch, epoch: int, action) -> None:
    """Call `action()` once the loop has logged `epoch` (before that epoch's checkpoints)."""
    original = CSVLogger.log_epoch

    def log_epoch(self, row, step):
        original(self, row, step)
        if row["epoch"] == epoch:
            action()

    monkeypatch.setattr(CSVLogger, "log_epoch", log_epoch)


def test_a_failed_checkpoint_write_keeps_the_previous_one_loadable(train, tmp_path, monkeypatch, file_size_limit):
    after_epoch(monkeypatch, 2, lambda: file_size_limit(20_000))   # the disk is full from epoch 2's checkpoint on
    run_dir = tmp_path / "run"
    with pytest.raises(DlrunError, match=r"could not write the checkpoint .*last.pt .*: the earlier last.pt is "
                                         r"unchanged\. Free space .* dlrun resume " + str(run_dir)):
        train("epochs=4", run_dir=run_dir)
    kept = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert kept["epoch"] == 1 and kept["train_state"]["epoch"] == 2   # epoch 1's, whole and loadable
    assert load_checkpoint(run_dir / "checkpoints" / "best.pt")["epoch"] == 1
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")], "no temporary files left"


def test_a_tracker_dying_mid_run_does_not_stop_training(train, tmp_path, monkeypatch, caplog):
    def kill_wandb_service():   # the wandb-core process this test process started
        for child in Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split():
            if "wandb" in Path(f"/proc/{child}/cmdline").read_text():
                os.kill(int(child), signal.SIGKILL)

    monkeypatch.setenv("WANDB_MODE", "offline")
    after_epoch(monkeypatch, 1, kill_wandb_service)
    with caplog.at_level(logging.WARNING, logger="dlrun"):
        run_dir = train("logger=wandb", "epochs=3")
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"
    assert [line.split(",")[0] for line in (run_dir / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3"]
    assert "WandbLogger failed in log_" in caplog.text and "switched off for the rest of this run" in caplog.text


GREEDY = """
import torch
from torch import nn


class Greedy(nn.Module):
    \"\"\"Asks for far more memory than any machine has, in training only.\"\"\"

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.layer = nn.Linear(in_features, num_classes)

    def forward(self, x):
        if self.training:
            torch.empty(1 << 60, dtype=torch.uint8)
        return self.layer(x.flatten(1))


class Fine(Greedy):
    def forward(self, x):
        return self.layer(x.flatten(1))
"""


def test_out_of_memory_suggests_a_smaller_batch_and_fails_only_its_job_in_a_sweep(dlrun_cli, tmp_path):
    (tmp_path / "greedy.py").write_text(textwrap.dedent(GREEDY))
    args = ("model=custom", "epochs=1", "logger=none", "trainer.progress=none")
    result = dlrun_cli(*args, "model.class_path=greedy.Greedy", "batch_size=64")
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert "out of memory with batch_size=64" in result.stderr
    assert "batch_size=32 trainer.grad_accum_steps=2" in result.stderr
    sweep = dlrun_cli("-m", *args, "model.class_path=greedy.Greedy,greedy.Fine", "hydra.sweep.dir=sweep")
    assert sweep.returncode == 0
    assert "out of memory" in (tmp_path / "sweep" / "0" / "failed.json").read_text()
    assert (tmp_path / "sweep" / "1" / "summary.json").is_file()   # the other job trained
