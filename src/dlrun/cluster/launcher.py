"""`hydra/launcher=slurm`: each job of a sweep is a SLURM job, submitted with submitit
(through hydra-submitit-launcher's launcher, whose job function and requeue hook it
keeps). This process waits for them; a job that fails for good (an error, killed, out
of memory, out of time after its requeues) gets failed.json in its directory and the
sweep goes on, so the report lists it."""

import re
import shutil
import sys
import threading
import time
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from omegaconf import OmegaConf, open_dict

from dlrun.compat import (
    finished_job_return,
    hydra_singleton_state,
    job_return_error,
    refresh_submitit_states,
    submitit_launcher_base,
)
from dlrun.errors import DlrunError, fail
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

POLL_S = 1.0  # how often a finished job's result file is looked for
ENDED_BADLY = ("FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "PREEMPTED")
SACCT_S = 10.0  # how often SLURM is asked (sacct) about jobs that ended without one: killed, cancelled


class SlurmLauncher(submitit_launcher_base("slurm")):
    cancel_on_interrupt = False  # the Optuna sweeper sets it: its trials' jobs end with it

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.running: set = set()  # submitted and not finished (the sweeper's threads submit concurrently)
        self.lock = threading.Lock()
        self.cancelled = False

    def __getstate__(self) -> dict:  # each job gets this launcher pickled: not its waiting state
        return {k: v for k, v in self.__dict__.items() if k not in ("running", "lock", "cancelled")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.running, self.lock, self.cancelled = set(), threading.Lock(), False

    def launch(self, job_overrides, initial_job_idx: int):
        try:
            params = self.submit_parameters()
            jobs = self.submit(params, job_overrides, initial_job_idx)
        except DlrunError as err:
            fail(err)
        try:
            return self.wait(jobs, job_overrides, initial_job_idx)
        except KeyboardInterrupt:
            if self.cancel_on_interrupt:
                self.cancel()
                raise
            array = jobs[0].job_id.split("_")[0]
            fail(
                f"stopped waiting. The jobs go on in SLURM: `squeue -j {array}` shows them, `scancel {array}` "
                f"stops them; `dlrun report {self.config.hydra.sweep.dir}` ranks them once they end.",
                code=130,
            )

    def cancel(self) -> None:
        """scancel every job still running, and stop the waits in other threads."""
        with self.lock:
            self.cancelled, jobs = True, list(self.running)
            self.running.clear()
        for job in jobs:
            job.cancel(check=False)
        if jobs:
            print(f"cancelled SLURM job(s) {', '.join(j.job_id for j in jobs)}", file=sys.stderr, flush=True)

    def submit_parameters(self) -> dict:
        from dlrun.cluster.resources import slurm_parameters

        if shutil.which("sbatch") is None:
            raise DlrunError(
                "hydra/launcher=slurm submits jobs with SLURM's sbatch, which is not on this machine's "
                "PATH: run dlrun on the cluster's login node (or start a local SLURM: sudo "
                "scripts/local-slurm up)."
            )
        return slurm_parameters(self.params, self.config)

    def submit(self, params: dict, job_overrides, initial_job_idx: int) -> list:
        import submitit

        params = dict(params)
        executor = submitit.AutoExecutor(
            folder=params.pop("submitit_folder"),
            cluster="slurm",
            slurm_max_num_timeout=params.pop("max_num_timeout", 0),
        )
        shared = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{k if k in shared else f"slurm_{k}": v for k, v in params.items()})
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        arguments = [
            (
                list(overrides),
                "hydra.sweep.dir",
                initial_job_idx + i,
                f"job_id_for_{initial_job_idx + i}",
                hydra_singleton_state(),
            )
            for i, overrides in enumerate(job_overrides)
        ]
        try:
            jobs = executor.map_array(self, *zip(*arguments))
        except submitit.core.utils.FailedJobError as err:  # sbatch refused: its own words say why
            raise DlrunError(
                f"SLURM refused the job(s): {str(err).strip().splitlines()[-1]}. Asked for: "
                f"{describe(params)}. Change hydra.launcher.* (partition, gpus_per_node, cpus_per_task, "
                "mem_gb, timeout_min ...) to what the cluster offers (sinfo shows it)."
            ) from err
        with self.lock:
            self.running.update(jobs)
        for i, (job, overrides) in enumerate(zip(jobs, job_overrides)):
            print(
                f"  job {initial_job_idx + i}: SLURM {job.job_id}  {' '.join(filter_overrides(overrides))}", flush=True
            )
        print(
            f"submitted {len(jobs)} SLURM job(s), {describe(params)}; logs: {jobs[0].paths.stdout.parent.parent}/"
            "<job id>/; waiting (Ctrl-C stops waiting, not the jobs)",
            flush=True,
        )
        return jobs

    def wait(self, jobs: list, job_overrides, initial_job_idx: int) -> list[JobReturn]:
        results: list[JobReturn | None] = [None] * len(jobs)
        pending = set(range(len(jobs)))
        asked = time.monotonic()
        while pending:
            if self.cancelled:
                raise KeyboardInterrupt
            if time.monotonic() - asked > SACCT_S:  # submitit alone asks at doubling intervals, up to minutes
                refresh_submitit_states(jobs[0])
                asked = time.monotonic()
            for i in sorted(pending):
                if jobs[i].done():
                    with self.lock:
                        self.running.discard(jobs[i])
                    results[i] = self.outcome(jobs[i], list(job_overrides[i]), initial_job_idx + i)
                    pending.discard(i)
            if pending:
                time.sleep(POLL_S)
        return results

    def outcome(self, job, overrides: list[str], number: int) -> JobReturn:
        """The job's JobReturn, or one for a job that failed for good, with failed.json written."""
        import traceback

        from submitit.core.utils import FailedJobError, UncompletedJobError

        state = safe_state(job)
        if state.split()[0] in ENDED_BADLY and not job.paths.result_pickle.exists():
            return self.failed(job, overrides, number, ended_without_result(job, state), "")  # no result will come
        try:
            result = job.results()[0]  # waits a little for a result file that a slow shared disk hides
        except FailedJobError as err:  # a Python error in the job, outside Hydra's job (its traceback)
            return self.failed(job, overrides, number, last_words(str(err)), str(err))
        except UncompletedJobError as err:  # no result: killed, cancelled, out of memory or time
            return self.failed(job, overrides, number, ended_without_result(job, safe_state(job)), str(err))
        if result.status == JobStatus.FAILED:  # an error Hydra caught in the job
            err = job_return_error(result)
            return self.failed(
                job, overrides, number, f"{type(err).__name__}: {err}", "".join(traceback.format_exception(err))
            )
        print(f"job {number} (SLURM {job.job_id}) finished", flush=True)
        return result

    def failed(self, job, overrides: list[str], number: int, message: str, trace: str) -> JobReturn:
        from dlrun.runs.failures import record_failure

        job_dir = self.job_dir(overrides, number)
        if not (job_dir / "failed.json").is_file():  # else the job said it itself (a config error)
            record_failure(
                job_dir,
                f"SLURM job {job.job_id}: {message}",
                trace=trace,
                extra={
                    "slurm_job_id": job.job_id,
                    "state": safe_state(job),
                    "log": str(job.paths.stdout),
                    "errors": str(job.paths.stderr),
                },
            )
        print(
            f"job {number} (SLURM {job.job_id}) failed: {message[:200]}; its log: {job.paths.stdout}",
            file=sys.stderr,
            flush=True,
        )
        return finished_job_return(
            float("nan"), overrides=overrides, working_dir=str(job_dir), task_name=str(self.config.hydra.job.name)
        )

    def job_dir(self, overrides: list[str], number: int) -> Path:
        """Where the job's run directory is (hydra.sweep.dir / hydra.sweep.subdir for it)."""
        sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
        with open_dict(sweep_config.hydra.job):
            sweep_config.hydra.job.num = number
        return Path(str(self.config.hydra.sweep.dir)) / str(sweep_config.hydra.sweep.subdir)


def last_words(text: str) -> str:
    """A traceback's last line: what the error was."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip() and not set(line.strip()) <= {"-"}]
    return lines[-1] if lines else ""


def ended_without_result(job, state: str) -> str:
    """SLURM's state and last word on a job it ended (srun: error: ... Killed; *** CANCELLED ... TIME LIMIT ***)."""
    said = [
        line.strip()
        for line in (job.stderr() or "").splitlines()
        if re.search(r"error|killed|oom|cancelled", line, re.I)
    ]
    return f"ended without a result (SLURM state {state})" + (f": {said[-1]}" if said else "")


def safe_state(job) -> str:
    try:
        return job.state
    except Exception:
        return "UNKNOWN"


def describe(params: dict) -> str:
    parts = [
        f"partition {params['partition']}" if params.get("partition") else "default partition",
        f"{params.get('nodes', 1)} node(s) x {params.get('tasks_per_node', 1)} task(s)",
        f"{params.get('cpus_per_task') or 1} CPU(s) per task",
        f"{params['gpus_per_node']} GPU(s) per node" if params.get("gpus_per_node") else "no GPU",
        f"{params.get('timeout_min')} min",
    ]
    if params.get("mem_gb"):
        parts.append(f"{params['mem_gb']} GB")
    return ", ".join(parts)
