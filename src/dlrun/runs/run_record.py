"""What summary.json records about where and how a run ran."""

import platform
from importlib import metadata
import socket
import subprocess
import sys
from pathlib import Path

import torch

import dlrun
from dlrun.cluster import slurm_env


def versions() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision_version(),
        "cuda": torch.version.cuda,
        "dlrun": dlrun.__version__,
    }


def torchvision_version() -> str:
    """torchvision.__version__ (with its build tag, e.g. +cu130) without importing torchvision,
    which costs a second: read from its version.py."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("torchvision")
    try:
        text = (Path(spec.submodule_search_locations[0]) / "version.py").read_text()
        return re.search(r"__version__\s*=\s*['\"]([^'\"]+)", text).group(1)
    except (AttributeError, OSError, TypeError, IndexError):
        return metadata.version("torchvision")


def git_state(cwd: Path) -> dict | None:
    """Commit and dirtiness of the user's working directory when it is a git repository."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain"], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def environment() -> dict:
    return {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "hostname": socket.gethostname(),
        "cpu_threads": torch.get_num_threads(),   # intra-op threads (a search divides the cores between its trials)
        "versions": versions(),
        "git": git_state(Path.cwd()),
        **slurm_env.record(),   # the SLURM job and its restarts, when one trained the run
    }
