"""Processes started by someone else: a user's torchrun, and two "nodes" (two dlrun
processes on this machine) meeting at a c10d rendezvous on 127.0.0.1."""

import json
import subprocess
import sys

import pytest

from dlrun.distributed.launch import free_port
from tests.processes import cli_env, start

QUICK = ("trainer.device=cpu", "epochs=2", "logger=none", "trainer.progress=none")


@pytest.mark.slow
def test_torchrun_writes_one_run_directory(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "-m", "dlrun", *QUICK],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["distributed"]["world_size"] == 2
    assert (run_dir / ".hydra" / "config.yaml").is_file() and result.stdout.count("run directory:") == 1


@pytest.mark.slow
def test_a_sweep_under_torchrun_is_refused_with_what_to_do_instead(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "1",
            "-m",
            "dlrun",
            "-m",
            "lr=1e-3,1e-2",
            *QUICK,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
    )
    assert result.returncode != 0 and "trainer.devices=N" in result.stderr


@pytest.mark.slow
def test_two_nodes_train_one_run_together(tmp_path):
    endpoint = f"127.0.0.1:{free_port()}"
    nodes = [
        start(
            *QUICK,
            "trainer.num_nodes=2",
            "trainer.devices=1",
            f"trainer.rdzv_endpoint={endpoint}",
            "hydra.run.dir=shared",
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    outputs = [node.communicate(timeout=300) for node in nodes]
    for node, (_out, err) in zip(nodes, outputs):
        assert node.returncode == 0, err[-3000:]
    summary = json.loads((tmp_path / "shared" / "summary.json").read_text())
    assert summary["distributed"]["world_size"] == 2 and summary["distributed"]["nodes"] == 2
    assert len((tmp_path / "shared" / "metrics.csv").read_text().splitlines()) == 3  # header and 2 epochs, once
    assert sum(out.count("run directory:") for out, _ in outputs) == 1
