"""Inside a SLURM job. A requeued job (preempted, out of time, `scontrol requeue`) runs its
command again from the start: it continues the run its first attempt began, from that
run's checkpoints/last.pt, in the same directory and W&B run, with metrics.csv cut to the
checkpoint. SLURM's warning before the end (submitit's `--signal=USR2@N`) stops the loop
with a checkpoint like SIGTERM does; then submitit's own handler requeues the job."""

import json
import signal
import sys
from pathlib import Path

from dlrun.cluster import slurm_env
from dlrun.errors import DlrunError


def requeued() -> bool:
    return bool(slurm_env.job_id()) and slurm_env.restarts() > 0


def continue_run(cfg, run_dir: Path, run) -> float:
    """Train the run this requeued job began with `run` (dlrun.run.run): on from its
    checkpoint, or from the start when its first attempt saved none. A run that had
    finished is not trained again."""
    from omegaconf import OmegaConf

    from dlrun.runs.saved_run import checkpoint_to_resume

    say = f"SLURM job {slurm_env.job_id()}, restart {slurm_env.restarts()}:"
    if (run_dir / "summary.json").is_file():
        print(f"{say} {run_dir} had finished; its result stands", flush=True)
        return json.loads((run_dir / "summary.json").read_text())["best"]["value"]
    try:
        checkpoint = checkpoint_to_resume(run_dir)
    except DlrunError:
        print(f"{say} no checkpoint in {run_dir} yet; training from the start", file=sys.stderr, flush=True)
        return run(cfg)
    print(f"{say} continuing {run_dir} from {checkpoint.name}", flush=True)
    return run(OmegaConf.load(run_dir / "config.yaml"), resume_from=checkpoint)


def pass_on(signum: int) -> None:
    """After the loop saved a checkpoint for SLURM's warning signal, let submitit's handler
    for it requeue the job (it exits this process)."""
    if signum == slurm_env.preemption_signal():
        handler = signal.getsignal(signum)
        if callable(handler):
            handler(signum, None)
