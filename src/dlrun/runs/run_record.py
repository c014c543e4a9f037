"""summary.json: what a finished run records about its results and about where and how it ran."""

import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
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
        "cpu_threads": torch.get_num_threads(),  # intra-op threads (a search divides the cores between its trials)
        "versions": versions(),
        "git": git_state(Path.cwd()),
        **slurm_env.record(),  # the SLURM job and its restarts, when one trained the run
    }


def run_summary(
    *,
    run_dir: Path,
    state,
    monitor,
    final: dict,
    test: dict,
    plan,
    cfg,
    info,
    parameters: tuple[int, int],
    device: torch.device,
    job: dict,
    search,
    resumed: bool,
    started_at: datetime,
    wall_time: float,
) -> dict:
    """summary.json of a finished run. `state`: the loop's final TrainState; `parameters`:
    (total, trainable). A collective under DDP (every rank calls it: the devices are gathered)."""
    from dlrun.distributed import ranks
    from dlrun.engine.device import device_name

    status = "pruned" if state.pruned_epoch else "completed"
    total, trainable = parameters
    throughput = epoch_totals(run_dir)  # samples/s, step time, data wait, peak memory over the epochs
    return {
        "status": status,
        **({"pruned_at_epoch": state.pruned_epoch} if state.pruned_epoch else {}),
        **({"search": {"study": search.study_name, "trial": search.trial_number}} if search else {}),
        "run_dir": str(Path(run_dir).resolve()),
        "monitor": monitor.metric,
        "mode": monitor.mode,
        "best": {"epoch": state.best_epoch, "value": state.best_value, "metrics": state.best_metrics},
        "final": final,
        "test": test,
        "stopped_early": state.stopped,
        "epochs": plan.epochs,
        "steps": state.step,
        "seed": cfg.seed,
        "resumed": resumed,
        "parameters": {"total": total, "trainable": trainable},
        "data": {
            "task": info.task,
            "input_shape": list(info.input_shape),
            "num_outputs": info.num_outputs,
            "class_names": list(info.class_names) if info.class_names else None,
            "target_mean": info.target_mean,
            "target_std": info.target_std,
        },
        "device": str(device),
        "device_name": device_name(device),
        "precision": plan.precision,
        **({"peak_gpu_memory_mb": peak_gpu_memory_mb(device, throughput)} if device.type == "cuda" else {}),
        "throughput": throughput,
        "distributed": ranks.describe(device),
        "overrides": job.get("overrides", []),
        "started_at": started_at.isoformat(timespec="seconds"),
        "ended_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(wall_time, 3),
        **environment(),
    }


def epoch_totals(run_dir: Path) -> dict:
    """dlrun.engine.throughput's figures over the epochs metrics.csv holds (a resumed run's too)."""
    import csv

    from dlrun.engine.throughput import totals

    path = Path(run_dir) / "metrics.csv"
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return totals(list(csv.DictReader(f)))


def peak_gpu_memory_mb(device, throughput: dict) -> float:
    """The run's peak: the per-epoch figures reset CUDA's peak statistics each epoch, so the
    highest of theirs and of what came after the last reset (the test split)."""
    since_reset = torch.cuda.max_memory_allocated(device) / 2**20
    return round(max(since_reset, throughput.get("peak_memory_mb", 0.0)), 1)
