"""The parent of a many-process run: it has chosen the run directory (Hydra did, once)
and starts `devices` workers on this node with torch.distributed's elastic launcher
(c10d rendezvous; standalone on 127.0.0.1 for one node). Each worker joins the
process group and calls the function it was given (dlrun.run.process.train, handed over
by the run's entry); rank 0 writes the run directory.

Under a user's own `torchrun ... -m dlrun ...` the workers already exist:
`torchrun_overrides` (called by the CLI before Hydra) joins their process group.
"""

import json
import multiprocessing
import os
import shutil
import socket
from datetime import timedelta
from pathlib import Path

from torch.distributed.elastic.multiprocessing.errors import record

from dlrun.errors import DlrunError

TIMEOUT = timedelta(minutes=10)  # a rank that stops answering ends the run instead of hanging it
WORKER_MARK = "DLRUN_DISTRIBUTED_WORKER"  # set in the processes launch_workers starts
FAILURES = ".rank-failures"  # in the run directory while the parent reads them


def backend_for(device_name: str) -> str:
    return "nccl" if str(device_name).startswith(("cuda", "auto")) and cuda_available() else "gloo"


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_in_processes(train, config: dict, run_dir, job: dict, topology, resume_from=None, search=None) -> float:
    """A run of several processes from this one (not started by torchrun: torchrun's
    processes joined their group before Hydra, in the CLI). `train(cfg, run_dir, job,
    resume_from, search)`: what each worker runs; a module-level function (pickled by name)."""
    from dlrun.engine.interrupt import Interrupted

    try:
        return launch_workers(train, config, run_dir, job, topology, resume_from, search)
    except Interrupted as stop:
        stop.tell(run_dir)
        raise


def launch_workers(train, config: dict, run_dir, job: dict, topology, resume_from=None, search=None) -> float:
    """Start this node's workers and wait for them; returns rank 0's best monitored value.
    A worker's error ends every rank and comes back as one short message; the traceback
    goes to the run's error.log."""
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    from dlrun.engine.interrupt import Interrupted

    single_node = topology.num_nodes == 1
    endpoint = f"127.0.0.1:{free_port()}" if single_node else topology.rdzv_endpoint
    launch = LaunchConfig(
        min_nodes=topology.num_nodes,
        max_nodes=topology.num_nodes,
        nproc_per_node=topology.devices,
        rdzv_backend="c10d",
        rdzv_endpoint=endpoint,
        run_id=f"dlrun-{Path(str(run_dir)).name}",
        rdzv_configs={"is_host": True} if single_node else {"timeout": 900},
        max_restarts=0,
        start_method="spawn",
        monitor_interval=0.5,
    )
    elastic_log = logging.getLogger("torch.distributed.elastic")
    level, elastic_log.level = elastic_log.level, logging.CRITICAL  # its tracebacks become our message below
    try:
        results = elastic_launch(launch, worker)(
            train, config, str(run_dir), job, str(resume_from) if resume_from else None, search
        )
    except SignalException as err:  # Ctrl-C or SIGTERM: the launcher passed it on; rank 0 saved a checkpoint
        raise Interrupted(int(err.sigval)) from None
    except ChildFailedError as err:
        rank, message, trace = first_failure(Path(run_dir), err)
        if trace:
            (Path(run_dir) / "error.log").write_text(trace)
        raise DlrunError(
            f"training process {rank} failed: {message}. Every process was stopped; what was saved is in {run_dir}"
        ) from err
    finally:
        elastic_log.level = level
    errors = [r["error"] for r in results.values() if isinstance(r, dict) and "error" in r]
    if errors:
        raise DlrunError(errors[0])
    return results[min(results)]  # keyed by global rank; every rank ends with the same (reduced) best value


def lost_peer(message: str) -> bool:
    """The error of a rank that was waiting on a failed one in a collective."""
    return any(mark in message for mark in ("gloo", "NCCL", "Connection closed", "Connection reset", "timed out"))


def first_failure(run_dir: Path, err) -> tuple[int, str, str]:
    """(rank, message, traceback) of the failure that caused the others. Each failing worker
    notes its error with the time before it leaves the process group; the ranks that then
    lose their peer fail too, so lost-peer errors come last."""
    notes = []
    for path in sorted((run_dir / FAILURES).glob("rank*.json")):
        try:
            notes.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            pass
    shutil.rmtree(run_dir / FAILURES, ignore_errors=True)
    if notes:
        first = min(notes, key=lambda n: (lost_peer(n["message"]), n["time"], n["rank"]))
        return first["rank"], first["message"].splitlines()[0][:300], first["traceback"]
    rank, failure = min(err.failures.items(), key=lambda i: (lost_peer(failure_message(i[1])), i[1].timestamp, i[0]))
    return rank, f"exit code {failure.exitcode}: {failure_message(failure)}", ""


def note_failure(run_dir: str, err: BaseException) -> None:
    import time
    import traceback

    import torch.distributed as dist

    rank = dist.get_rank() if dist.is_initialized() else int(os.environ.get("RANK", 0))
    folder = Path(run_dir) / FAILURES
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"rank{rank}.json").write_text(
        json.dumps(
            {
                "rank": rank,
                "time": time.time(),
                "message": f"{type(err).__name__}: {err}",
                "traceback": "".join(traceback.format_exception(err)),
            }
        )
    )


def failure_message(failure) -> str:
    message = failure.message
    if isinstance(message, dict):
        message = message.get("message", "")
    return str(message or "see the output above").strip().splitlines()[-1][:300]


@record
def worker(train, config: dict, run_dir: str, job: dict, resume_from: str | None, search=None):
    """One rank (module level: the spawn start method pickles it). A config error every rank
    meets alike (a bad value found while building) comes back as {"error": message}."""
    import torch.distributed as dist
    from omegaconf import OmegaConf

    from dlrun.engine.interrupt import Interrupted

    die_with_parent()
    os.environ[WORKER_MARK] = "1"
    # a spawned process inherits "spawn" as its start method, so its DataLoader workers would each start a
    # fresh interpreter (torch, dlrun and the dataset imported and unpickled anew: seconds per loader); the
    # platform's default (fork on Linux) is what a rank started by torchrun has
    multiprocessing.set_start_method(None, force=True)
    dist.init_process_group(backend_for(config["trainer"]["device"]), timeout=TIMEOUT)
    try:
        return train(OmegaConf.create(config), Path(run_dir), job, Path(resume_from) if resume_from else None, search)
    except DlrunError as err:
        return {"error": str(err)}
    except Interrupted:
        raise
    except BaseException as err:
        note_failure(run_dir, err)  # before the process group goes: the parent names the first failure
        raise
    finally:
        dist.destroy_process_group()


def die_with_parent() -> None:
    """Linux: this worker gets SIGTERM when the dlrun process that started it dies (killed,
    out of memory), and stops with a checkpoint instead of training on as an orphan."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        pass


def started_by_dlrun() -> bool:
    """This process is a worker that a dlrun process started (which reports for it)."""
    return os.environ.get(WORKER_MARK) == "1"


def torchrun_overrides(argv: list[str]) -> list[str]:
    """Under torchrun every rank runs the CLI, and Hydra would give each its own run folder
    (`${now:...}` differs per process). Join the process group first and take rank 0's
    time for all: one run directory. Only rank 0 writes Hydra's own files there."""
    import atexit
    from datetime import datetime

    import torch
    import torch.distributed as dist

    if any(arg in ("-m", "--multirun") for arg in argv):
        raise DlrunError(
            "dlrun -m under torchrun would run the whole sweep on every process: run the sweep "
            "without torchrun and give each job its processes with trainer.devices=N."
        )
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo", timeout=TIMEOUT)
    atexit.register(lambda: dist.is_initialized() and dist.destroy_process_group())
    stamp = [datetime.now().strftime("%Y-%m-%d_%H-%M-%S.%f")]
    dist.broadcast_object_list(stamp, src=0)
    extra = [] if any(arg.startswith("hydra.run.dir=") for arg in argv) else [f"hydra.run.dir=outputs/runs/{stamp[0]}"]
    if dist.get_rank() != 0:
        extra += ["hydra.output_subdir=null", "hydra/job_logging=disabled"]
    return extra
