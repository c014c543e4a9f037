"""Which process owns a trial, and what each concurrent trial may use of this machine.

Every trial records the sweeper process that asked for it (host, pid, process start
time). A trial still RUNNING whose process has ended on this host was left by a
crash or a kill: the next sweeper marks it FAIL. (A journal file has no heartbeat;
a trial owned by a process on another host is left alone.)
"""

import os
import socket

from dlrun.datasets.loader_options import cpu_count


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), so a reused pid is not taken for it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


WORKER = f"{socket.gethostname()}:{os.getpid()}:{process_start(os.getpid())}"


def worker_alive(worker: str) -> bool | None:
    """True or False for a process on this host; None when it ran elsewhere (cannot tell)."""
    try:
        host, pid, started = worker.rsplit(":", 2)
        pid = int(pid)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    if started:
        return process_start(pid) == started
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def abandoned_trials(study) -> list:
    """RUNNING trials whose sweeper process has ended on this host."""
    from optuna.trial import TrialState

    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if worker_alive(t.user_attrs.get("worker", "")) is False
    ]


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g.strip() for g in listed.split(",") if g.strip() and g.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def slot_environments(n_jobs: int) -> list[list[str]]:
    """Per slot of concurrent trials, Hydra overrides that set its job's environment: the CPU
    cores divided between the slots (OMP/MKL threads), and one GPU each when there are
    several. One slot: nothing to divide."""
    if n_jobs == 1:
        return [[]]
    threads = max(1, cpu_count() // n_jobs)
    gpus = visible_gpus()
    slots = []
    for slot in range(n_jobs):
        env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        if len(gpus) > 1:
            env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
        slots.append([f"++hydra.job.env_set.{key}={value}" for key, value in env.items()])
    return slots
