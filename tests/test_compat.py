"""Each private API dlrun touches (dlrun/compat.py) still behaves as dlrun expects with the
installed versions: an upgrade that changes one fails here, by name."""

import importlib.metadata
import time
import warnings

import pytest
import torch
from torch import nn

from dlrun import compat


def test_the_checked_versions_are_the_installed_ones_or_a_warning_says_which_differ():
    differ = {
        name: (checked, importlib.metadata.version(name))
        for name, checked in compat.CHECKED.items()
        if importlib.metadata.version(name).split("+")[0] != checked
    }
    if differ:
        warnings.warn(
            f"dlrun.compat was checked against other versions: {differ}; the tests below say "
            "whether each private API still behaves",
            stacklevel=1,
        )
    assert set(compat.CHECKED) >= {"hydra-core", "optuna", "torch", "wandb", "submitit"}


# ---- Hydra --------------------------------------------------------------------------------


def test_hydra_args_parser_reads_hydras_flags_and_overrides():
    args = compat.hydra_args_parser().parse_args(["-m", "--cfg", "job", "lr=1", "+x=2"])
    assert args.multirun and args.cfg == "job" and args.overrides == ["lr=1", "+x=2"]


def test_hydra_basic_launcher_is_where_its_target_says():
    module, name = compat.HYDRA_BASIC_LAUNCHER.rsplit(".", 1)
    assert isinstance(getattr(importlib.import_module(module), name), type)


def test_hydra_mode_composition_can_be_skipped(monkeypatch):
    from hydra._internal.hydra import Hydra

    monkeypatch.setattr(Hydra, "get_mode", Hydra.get_mode)  # restored after the test
    compat.skip_hydra_mode_composition()
    assert Hydra.get_mode(None, "config", []) is None


def test_hydra_config_repository_is_built_once(monkeypatch):
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    calls = []
    monkeypatch.setattr(
        ConfigLoaderImpl,
        "_parse_overrides_and_create_caching_repo",
        lambda self, name, overrides: calls.append(name) or object(),
    )
    compat.share_hydra_config_repository()
    loader = object.__new__(ConfigLoaderImpl)
    first = ConfigLoaderImpl._parse_overrides_and_create_caching_repo(loader, "config", ["a=1"])
    again = ConfigLoaderImpl._parse_overrides_and_create_caching_repo(loader, "config", ["a=1"])
    assert first is again and calls == ["config"]


def test_hydra_errors_reach_the_translator(monkeypatch, capsys):
    import hydra._internal.utils as hydra_utils

    monkeypatch.setattr(hydra_utils, "run_and_report", hydra_utils.run_and_report)
    seen = []
    compat.report_hydra_errors(lambda err: seen.append(err) or ("said by dlrun" if "mine" in str(err) else None))

    def mine():
        raise ValueError("mine")

    with pytest.raises(SystemExit) as stopped:
        hydra_utils.run_and_report(mine)
    assert stopped.value.code == 2 and "dlrun: error: said by dlrun" in capsys.readouterr().err
    assert hydra_utils.run_and_report(lambda: 7) == 7

    def theirs():
        raise ValueError("theirs")

    with pytest.raises(SystemExit) as stopped:  # Hydra's own handling: its message, exit code 1
        hydra_utils.run_and_report(theirs)
    assert stopped.value.code == 1 and len(seen) == 2


def test_a_failed_job_return_holds_its_exception_and_a_finished_one_its_value():
    from hydra.core.utils import JobReturn, JobStatus

    failed = JobReturn(status=JobStatus.FAILED, _return_value=KeyError("x"))
    assert isinstance(compat.job_return_error(failed), KeyError)
    done = compat.finished_job_return(0.5, overrides=["lr=1"], working_dir="/tmp", task_name="train")
    assert done.status == JobStatus.COMPLETED and done.return_value == 0.5 and done.overrides == ["lr=1"]


def test_hydra_singleton_state_is_a_mapping_of_singletons():
    assert isinstance(compat.hydra_singleton_state(), dict)


# ---- hydra-submitit-launcher and submitit ----------------------------------------------


def test_the_submitit_launcher_base_reads_its_executor():
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher, LocalLauncher

    slurm = compat.submitit_launcher_base("slurm")
    assert issubclass(slurm, BaseSubmititLauncher) and slurm._EXECUTOR == "slurm"
    assert compat.launcher_executor(LocalLauncher.__new__(LocalLauncher)) == "local"
    assert compat.launcher_executor(object()) == "local"
    assert callable(BaseSubmititLauncher.__call__)  # a job is the launcher itself, pickled


def test_submitit_jobs_have_a_watcher_to_refresh():
    import inspect

    from submitit.core.core import Job

    assert "watcher" in inspect.getsource(Job) and hasattr(Job, "state")


# ---- Optuna -------------------------------------------------------------------------------


def test_an_existing_trial_is_reopened_by_its_storage_id():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    asked = study.ask()
    frozen = study.get_trials(deepcopy=False)[0]
    reopened = compat.optuna_trial(study, compat.frozen_trial_id(frozen))
    reopened.report(0.5, step=1)
    assert reopened.number == asked.number
    assert study.get_trials(deepcopy=False)[0].intermediate_values == {1: 0.5}


# ---- torch --------------------------------------------------------------------------------


def test_a_compiled_module_holds_the_original():
    model = nn.Linear(2, 1)
    assert compat.compiled_original(torch.compile(model)) is model
    assert compat.compiled_original(model) is None


def test_the_loss_and_norm_bases():
    assert isinstance(nn.MSELoss(), compat.loss_base())
    batch, instance = compat.batch_and_instance_norm_bases()
    assert isinstance(nn.BatchNorm2d(3), batch) and isinstance(nn.SyncBatchNorm(3), batch)
    assert isinstance(nn.InstanceNorm1d(3), instance) and not isinstance(nn.LayerNorm(3), batch)


# ---- wandb --------------------------------------------------------------------------------


def test_an_offline_wandb_log_is_read_back(tmp_path, monkeypatch):
    import wandb

    monkeypatch.setenv("WANDB_MODE", "offline")
    run = wandb.init(
        project="compat", dir=str(tmp_path), config={"lr": 0.1}, settings=wandb.Settings(silent=True, console="off")
    )
    run.log({"loss": 0.25}, step=1)
    run.finish()
    (log,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    for _ in range(100):  # wandb's service process may still be writing the file after finish() returned
        kinds = [r.WhichOneof("record_type") for r in compat.read_wandb_log(log)]
        if "history" in kinds:
            break
        time.sleep(0.1)
    assert "run" in kinds and "history" in kinds
    with pytest.raises(ValueError, match="not a W&B transaction log"):
        (tmp_path / "x.wandb").write_bytes(b"nope" * 4)
        compat.read_wandb_log(tmp_path / "x.wandb")
