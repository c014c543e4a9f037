"""What a process learns from SLURM's environment. No torch, no submitit: the config
checks use it before the slow imports."""

import os
import re
import signal
import subprocess

from dlrun.errors import DlrunError


def job_id() -> str | None:
    return os.environ.get("SLURM_JOB_ID")


def restarts() -> int:
    """How often SLURM has started this job again (requeued: preempted, timed out, `scontrol requeue`)."""
    value = os.environ.get("SLURM_RESTART_COUNT", "0")
    return int(value) if value.isdigit() else 0


def step_tasks() -> int | None:
    """Tasks of this job step (srun, or submitit's srun), or None outside a step. A batch
    script alone is one process whatever --ntasks says."""
    value = os.environ.get("SLURM_STEP_NUM_TASKS")
    return int(value) if value and value.isdigit() else None


def task_index() -> int:
    """This task's index in its step (0 prints; the others are quiet)."""
    value = os.environ.get("SLURM_PROCID", "0")
    return int(value) if value.isdigit() else 0


def preemption_signal() -> int | None:
    """The signal SLURM sends a submitit job before its time limit or a preemption
    (`--signal=USR2@N`); submitit's handler for it requeues the job."""
    if os.environ.get("SUBMITIT_EXECUTOR") != "slurm":
        return None
    return getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2"), None)


def hostnames() -> list[str]:
    """The job's hosts in allocation order: `scontrol show hostnames`, which expands
    SLURM's compressed list (node[01-04,07])."""
    nodelist = os.environ.get("SLURM_JOB_NODELIST") or os.environ.get("SLURM_NODELIST", "")
    if not nodelist:
        return []
    if not re.search(r"[\[,]", nodelist):
        return [nodelist]
    try:
        out = subprocess.run(
            ["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise DlrunError(
            f"could not expand SLURM's node list {nodelist!r} with scontrol ({err}): "
            "set trainer.rdzv_endpoint=HOST:PORT (the first node's host)"
        ) from err
    return out.split()


def rendezvous_endpoint() -> str:
    """Where the nodes of a many-node job meet: the first host of the allocation, on a port
    derived from the job id (the same in every task, below Linux's ephemeral ports)."""
    hosts = hostnames()
    if not hosts or not job_id():
        raise DlrunError(
            "trainer.num_nodes > 1 in a SLURM job without its node list: set trainer.rdzv_endpoint=HOST:PORT"
        )
    number = int(re.sub(r"\D", "", job_id()) or 0)
    return f"{hosts[0]}:{20000 + number % 10000}"


def node_problem(num_nodes: int) -> str | None:
    """Why a run of trainer.num_nodes > 1 without an endpoint cannot start here, or None
    when this SLURM step has one task per node for it."""
    tasks = step_tasks()
    if tasks is None:
        return (
            "trainer.num_nodes > 1 needs a rendezvous endpoint every node can reach: "
            "trainer.rdzv_endpoint=HOST:PORT (the same on every node), or a SLURM job with one task "
            "per node (dlrun -m hydra/launcher=slurm ... sets it up)."
        )
    if tasks != num_nodes:
        return (
            f"trainer.num_nodes={num_nodes}, but this SLURM job step has {tasks} task(s): dlrun runs one "
            f"task per node, each starting trainer.devices processes. Submit {num_nodes} tasks "
            f"(hydra.launcher.nodes={num_nodes} hydra.launcher.tasks_per_node=1) or set trainer.num_nodes={tasks}."
        )
    return None


def record() -> dict:
    """For summary.json: which SLURM job trained the run, and how often it was requeued."""
    if not job_id():
        return {}
    keys = {
        "job_id": "SLURM_JOB_ID",
        "array_job_id": "SLURM_ARRAY_JOB_ID",
        "array_task_id": "SLURM_ARRAY_TASK_ID",
        "partition": "SLURM_JOB_PARTITION",
        "nodelist": "SLURM_JOB_NODELIST",
        "tasks": "SLURM_STEP_NUM_TASKS",
    }
    found = {name: os.environ[var] for name, var in keys.items() if os.environ.get(var)}
    return {"slurm": {**found, "restarts": restarts()}}


def shared_run_overrides(argv: list[str]) -> list[str]:
    """`srun dlrun ...` in a batch script of one task per node: every task runs the CLI, and
    Hydra would give each its own run folder (`${now:...}` differs per process). One folder
    for the job step; only the first task writes Hydra's own files there."""
    if step_tasks() in (None, 1) or os.environ.get("SUBMITIT_EXECUTOR"):
        return []  # one process, or a job of dlrun's SLURM launcher (its sweep dir is shared already)
    if any(arg in ("-m", "--multirun") for arg in argv):
        raise DlrunError(
            "dlrun -m under srun would run the whole sweep in every task: submit the sweep with "
            "dlrun -m hydra/launcher=slurm ... from the login node instead."
        )
    extra = (
        []
        if any(arg.startswith("hydra.run.dir=") for arg in argv)
        else [f"hydra.run.dir=outputs/runs/slurm-{job_id()}.{os.environ.get('SLURM_STEP_ID', '0')}"]
    )
    if task_index() != 0:
        extra += ["hydra.output_subdir=null", "hydra/job_logging=disabled"]
    return extra
