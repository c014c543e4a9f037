"""The real `dlrun` console script, run as a user would: its own process, wandb offline."""

import os
import subprocess
import sys
from pathlib import Path

DLRUN = str(Path(sys.executable).parent / "dlrun")
QUIET = ("logger=none", "trainer.progress=none", "trainer=cpu")


def cli_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return {**env, "COLUMNS": "140", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}


def dlrun(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([DLRUN, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=cli_env())


def start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [DLRUN, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
    )
