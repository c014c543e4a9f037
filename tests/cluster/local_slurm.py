"""The real single-node SLURM the cluster tests submit to: scripts/local-slurm starts it
(as root, installing slurm-wlm and munge with apt when missing). Without root or apt the
tests skip and say why; where DLRUN_REQUIRE_SLURM=1 (.ci/run) they fail instead."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local-slurm"


def node_ready() -> bool:
    if shutil.which("sinfo") is None:
        return False
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    return out.returncode == 0 and any(s.startswith(("idle", "mixed", "allocated")) for s in out.stdout.split())


def why_not() -> str | None:
    """None when SLURM runs here (started now if needed), else the reason it cannot."""
    if node_ready():
        return None
    if os.geteuid() != 0:
        return f"no SLURM running and not root to start one: sudo {SCRIPT} up"
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        return "no SLURM installed and no apt-get to install slurm-wlm and munge"
    done = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not node_ready():
        pytest.fail(f"{SCRIPT} up failed:\n{done.stdout}\n{done.stderr}")
    return None


def require_slurm() -> None:
    reason = why_not()
    if reason is None:
        return
    if os.environ.get("DLRUN_REQUIRE_SLURM") == "1":
        pytest.fail(f"DLRUN_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


def squeue_ids(name: str) -> list[str]:
    out = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i"], capture_output=True, text=True, timeout=30)
    return out.stdout.split()
