"""Faults that lose nothing: a checkpoint write that fails, a tracker that dies, running out of memory."""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlrun.engine.checkpoint import load_checkpoint
from dlrun.engine.loggers import CSVLogger
from tests.processes import cli_env

FULL_DISK = """
import resource, signal, sys

from dlrun.cli import main
from dlrun.engine.loggers import CSVLogger

# From epoch 2's checkpoint on, no file of this process can grow past 20 kB: its writes fail as
# on a full disk (SIGXFSZ ignored, so the write fails instead of killing the process). Only
# this child is limited: pytest's own output files are not.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
logged = CSVLogger.log_epoch


def log_epoch(self, row, step):
    logged(self, row, step)
    if row["epoch"] == 2:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


CSVLogger.log_epoch = log_epoch
sys.argv = ["dlrun", *sys.argv[1:]]
main()
"""


@pytest.mark.slow
def test_a_failed_checkpoint_write_keeps_the_previous_one_loadable(tmp_path):
    (tmp_path / "full_disk.py").write_text(FULL_DISK)
    result = subprocess.run(
        [sys.executable, "full_disk.py", "epochs=4", "logger=none", "trainer.progress=none", "hydra.run.dir=run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_env(),
    )
    run_dir = tmp_path / "run"
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert (
        re.search(
            r"could not write the checkpoint .*last.pt .*: the earlier last.pt is unchanged\. Free space "
            r".* dlrun resume \S*run$",
            result.stderr.strip(),
        )
        and "is the disk full?" in result.stderr
    ), result.stderr
    kept = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert kept["epoch"] == 1 and kept["train_state"]["epoch"] == 2  # epoch 1's, whole and loadable
    assert load_checkpoint(run_dir / "checkpoints" / "best.pt")["epoch"] == 1
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")], "no temporary files left"


def after_epoch(monkeypatch, epoch: int, action) -> None:
    """Call `action()` once the loop has logged `epoch` (before that epoch's checkpoints)."""
    original = CSVLogger.log_epoch

    def log_epoch(self, row, step):
        original(self, row, step)
        if row["epoch"] == epoch:
            action()

    monkeypatch.setattr(CSVLogger, "log_epoch", log_epoch)


def test_a_tracker_dying_mid_run_does_not_stop_training(train, tmp_path, monkeypatch, caplog):
    def kill_wandb_service():  # the wandb-core process this test process started
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


@pytest.mark.slow
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
    assert (tmp_path / "sweep" / "1" / "summary.json").is_file()  # the other job trained
