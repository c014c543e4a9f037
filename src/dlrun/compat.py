"""Every use of another library's private API, in one place.

dlrun leans on a few names that Hydra, OmegaConf, hydra-submitit-launcher, submitit,
Optuna, torch and wandb do not promise to keep. Each is reached through a function here,
imported only when called (this module imports nothing heavy), and tests/test_compat.py
checks each one against the installed version, so an upgrade that changes one fails
there, loudly and by name, rather than somewhere inside a run.

CHECKED lists the versions each was last checked against.
"""

from __future__ import annotations

import struct
from pathlib import Path

CHECKED = {
    "hydra-core": "1.3.8",
    "omegaconf": "2.3.1",
    "hydra-submitit-launcher": "1.2.0",
    "submitit": "1.5.4",
    "optuna": "5.1.0",
    "torch": "2.14.1",
    "wandb": "0.31.0",
}

# ---- Hydra ------------------------------------------------------------------------------

HYDRA_BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"  # its _target_


def hydra_args_parser():
    """Hydra's own command-line parser (the flags and overrides `hydra.main` accepts)."""
    from hydra._internal.utils import get_args_parser

    return get_args_parser()


def skip_hydra_mode_composition() -> None:
    """Hydra composes the whole config once just to read `hydra.mode` (Hydra.get_mode), then
    again to run. Where nothing can set hydra.mode, the answer is known: none."""
    from hydra._internal.hydra import Hydra

    Hydra.get_mode = lambda self, config_name, overrides: None


def share_hydra_config_repository() -> None:
    """Hydra builds a fresh caching config repository per call of its config loader (search
    path processed, primary config loaded); this builds each once per (loader, name, overrides)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    build = ConfigLoaderImpl._parse_overrides_and_create_caching_repo
    built: dict = {}

    def once(self, config_name, overrides):
        key = (id(self), config_name, tuple(overrides))
        if key not in built:
            built[key] = build(self, config_name, overrides)
        return built[key]

    ConfigLoaderImpl._parse_overrides_and_create_caching_repo = once


def report_hydra_errors(translate) -> None:
    """Hydra prints its own errors (composition, override syntax, a missing option) and
    exits from `run_and_report`. `translate(err)` returns dlrun's message for an error, or
    None for Hydra's own handling; with a message, dlrun's one line is printed instead."""
    import hydra._internal.utils as hydra_utils

    from dlrun.errors import fail

    original = hydra_utils.run_and_report

    def run_and_report(func):
        def translated():
            try:
                return func()
            except Exception as err:
                said = translate(err)
                if said is None:
                    raise
                fail(said)  # SystemExit: Hydra's handler lets it pass

        return original(translated)

    hydra_utils.run_and_report = run_and_report


def job_return_error(job_return) -> BaseException:
    """The exception a failed Hydra JobReturn holds (its `return_value` would raise it)."""
    return job_return._return_value


def finished_job_return(value, **fields):
    """A JobReturn for a job whose result dlrun supplies (a cluster job that failed for good)."""
    from hydra.core.utils import JobReturn, JobStatus

    return JobReturn(status=JobStatus.COMPLETED, _return_value=value, **fields)


def hydra_singleton_state():
    """Hydra's process-wide singletons (config store, plugins), for a job in another process."""
    from hydra.core.singleton import Singleton

    return Singleton.get_state()


# ---- hydra-submitit-launcher and submitit ------------------------------------------------


def submitit_launcher_base(executor: str):
    """hydra-submitit-launcher's launcher class, for `executor` ("slurm" or "local"): a job
    is the launcher itself, pickled (its __call__ runs Hydra's job in the job's process)."""
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher

    return type(f"Submitit{executor.title()}Base", (BaseSubmititLauncher,), {"_EXECUTOR": executor})


def launcher_executor(launcher) -> str:
    """ "slurm", or "local" for a submitit local launcher and for any other launcher."""
    return getattr(launcher, "_EXECUTOR", "local")


def refresh_submitit_states(job) -> None:
    """Ask SLURM now for the states of `job`'s array (submitit alone asks at doubling intervals)."""
    job.watcher.update()


# ---- Optuna -----------------------------------------------------------------------------


def optuna_trial(study, trial_id: int):
    """A live optuna.trial.Trial for a trial that already exists in the study's storage."""
    import optuna

    return optuna.trial.Trial(study, trial_id)


def frozen_trial_id(frozen) -> int:
    """The storage's id of a FrozenTrial (its number is per study; the id is per storage)."""
    return frozen._trial_id


# ---- torch ------------------------------------------------------------------------------


def compiled_original(module):
    """The module torch.compile wrapped, or None when `module` is not compiled."""
    return getattr(module, "_orig_mod", None)


def loss_base():
    """The base class of torch's loss modules."""
    from torch import nn

    return nn.modules.loss._Loss


def batch_and_instance_norm_bases() -> tuple:
    """The base classes of torch's BatchNorm{1,2,3}d (and SyncBatchNorm) and InstanceNorm{1,2,3}d."""
    from torch import nn

    return nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm


# ---- wandb ------------------------------------------------------------------------------

WANDB_BLOCK = 32768
WANDB_RECORD_HEADER = 7  # checksum (4), length (2), type (1)


def read_wandb_log(path: Path) -> list:
    """The records of an offline W&B run's transaction log (`run-<id>.wandb`), parsed with
    wandb's own protobuf classes. wandb ships no reader for it: the container is LevelDB's
    log format behind a 7-byte ':W&B' header. (Used by the tests to see what reached W&B.)"""
    from wandb.proto import wandb_internal_pb2

    full, first, last = 1, 2, 4
    data = Path(path).read_bytes()
    ident, magic, _version = struct.unpack("<4sHB", data[:7])
    if ident != b":W&B" or magic != 0xBEE1:
        raise ValueError(f"{path} is not a W&B transaction log")
    records, pending, pos = [], b"", 7
    while pos + WANDB_RECORD_HEADER <= len(data):
        left_in_block = WANDB_BLOCK - pos % WANDB_BLOCK
        if left_in_block < WANDB_RECORD_HEADER:  # block trailer padding
            pos += left_in_block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + WANDB_RECORD_HEADER])
        if pos + WANDB_RECORD_HEADER + length > len(data):  # a record still being written
            break
        chunk = data[pos + WANDB_RECORD_HEADER : pos + WANDB_RECORD_HEADER + length]
        pos += WANDB_RECORD_HEADER + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (full, first) else pending + chunk
        if kind in (full, last):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records
