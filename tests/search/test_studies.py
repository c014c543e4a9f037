"""Studies that survive a crash, grids that end, presets that run, and W&B grouping per study."""

import socket

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState
from wandb_records import run_records

from tests.processes import QUIET, dlrun
from tests.search.helpers import load_study


@pytest.mark.slow
def test_a_trial_left_running_by_a_dead_process_is_marked_failed_and_not_counted(tmp_path):
    journal = tmp_path / "crashed" / "optuna.journal"
    journal.parent.mkdir()
    study = optuna.create_study(
        study_name="crashed", direction="maximize", storage=JournalStorage(JournalFileBackend(str(journal)))
    )
    orphan = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)})
    orphan.set_user_attr("worker", f"{socket.gethostname()}:999999999:1")  # a process that no longer exists
    alive = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)})
    alive.set_user_attr("worker", "another-host:1:1")  # elsewhere: cannot tell, left alone

    result = dlrun(
        "-m",
        "hydra/sweeper=optuna",
        "lr=tag(log, interval(1e-4, 1e-1))",
        "epochs=1",
        *QUIET,
        "hydra.sweep.dir=crashed",
        "hydra.sweeper.n_trials=4",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trial 0 was left running by a process that has ended: marked FAIL" in result.stdout
    trials = load_study(journal, "crashed").trials
    assert trials[0].state == TrialState.FAIL and trials[0].user_attrs["interrupted"]
    assert trials[1].state == TrialState.RUNNING
    assert [t.state for t in trials[2:]] == [TrialState.COMPLETE] * 3  # 4 counted: the running one and 3 new


@pytest.mark.slow
def test_a_grid_search_runs_each_combination_once_and_stops(tmp_path):
    result = dlrun(
        "-m",
        "hydra/sweeper=optuna",
        "hydra.sweeper.sampler.name=grid",
        "optimizer=adam,sgd",
        "batch_size=range(32,97,step=64)",
        "epochs=1",
        *QUIET,
        "hydra.sweep.dir=grid",
        "hydra.sweeper.n_trials=10",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = load_study(tmp_path / "grid" / "optuna.journal", "grid").trials
    assert sorted((t.params["optimizer"], t.params["batch_size"]) for t in trials) == [
        ("adam", 32),
        ("adam", 96),
        ("sgd", 32),
        ("sgd", 96),
    ]
    assert "the grid is exhausted" in result.stdout


@pytest.mark.slow
def test_the_preset_runs_and_each_trial_is_a_wandb_run_in_the_study_group(tmp_path):
    result = dlrun(
        "-m",
        "hparams_search=digits_optuna",
        "hydra.sweeper.n_trials=2",
        "epochs=1",
        "trainer.progress=none",
        "hydra.sweep.dir=preset",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = load_study(tmp_path / "preset" / "optuna.journal", "preset").trials  # named after its sweep folder
    assert len(trials) == 2 and {"lr", "optimizer", "batch_size", "model.dropout"} == set(trials[0].params)
    for trial in trials:
        (offline,) = (tmp_path / "preset" / str(trial.number) / "wandb").glob("offline-run-*")
        records = run_records(offline)
        assert records["run"].run_group == "preset"
        assert records["summary"]["trial/number"] == trial.number
        assert records["summary"]["trial/state"] == "completed"


@pytest.mark.slow
def test_a_database_storage_is_continued_from_another_sweep_folder(tmp_path):
    common = (
        "-m",
        "hydra/sweeper=optuna",
        "lr=tag(log, interval(1e-4, 1e-1))",
        "epochs=1",
        *QUIET,
        "hydra.sweeper.storage=sqlite:///optuna.db",
        "hydra.sweeper.study_name=db",
    )
    first = dlrun(*common, "hydra.sweeper.n_trials=2", "hydra.sweep.dir=first", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    again = dlrun(*common, "hydra.sweeper.n_trials=3", "hydra.sweep.dir=again", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    study = optuna.load_study(study_name="db", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert (tmp_path / "again" / "2" / "summary.json").is_file() and not (tmp_path / "again" / "0").exists()
