"""An 8-trial TPE search with the median pruner on digits, through the real CLI, then
continued to 12 trials in the same journal file (one search per module, shared)."""

import json

import pytest
import torch
import yaml
from optuna.trial import TrialState

from tests.processes import QUIET, dlrun
from tests.search.helpers import load_study

SEARCH = (
    "-m",
    "hydra/sweeper=optuna",
    "lr=tag(log, interval(1e-5, 1.0))",
    "optimizer=adam,sgd",
    "batch_size=choice(0, 32, 64)",
    "epochs=3",
    *QUIET,
    "hydra.sweep.dir=search",
    "hydra.sweeper.pruner.n_startup_trials=2",
    "hydra.sweeper.enqueue=[{batch_size: 0}]",
)  # trial 0: a value every run rejects


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("search")
    first = dlrun(*SEARCH, "hydra.sweeper.n_trials=8", cwd=cwd)
    assert first.returncode == 0, first.stderr[-3000:]
    before = {t.number: dict(t.params) for t in load_study(cwd / "search" / "optuna.journal", "search").trials}
    results_before = yaml.safe_load((cwd / "search" / "optimization_results.yaml").read_text())
    again = dlrun(*SEARCH, "hydra.sweeper.n_trials=12", cwd=cwd)
    assert again.returncode == 0, again.stderr[-3000:]
    return {"dir": cwd / "search", "first": first, "again": again, "before": before, "results_before": results_before}


def trials(search):
    return load_study(search["dir"] / "optuna.journal", "search").trials


@pytest.mark.slow
def test_pruned_trials_stop_early_and_say_so_with_valid_checkpoints(search):
    pruned = [t for t in trials(search) if t.state == TrialState.PRUNED]
    assert pruned, "the median pruner stopped no trial"
    for trial in pruned:
        run_dir = search["dir"] / str(trial.number)
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["status"] == "pruned"
        epoch = summary["pruned_at_epoch"]
        assert 1 <= epoch < 3 and summary["search"] == {"study": "search", "trial": trial.number}
        assert max(trial.intermediate_values) == epoch  # reported after every validation up to the pruning
        for name in ("last.pt", "best.pt"):
            checkpoint = torch.load(run_dir / "checkpoints" / name, weights_only=True)
            assert checkpoint["train_state"]["pruned_epoch"] == epoch
        assert f"trial {trial.number} pruned: at epoch {epoch}" in search["first"].stdout + search["again"].stdout


@pytest.mark.slow
def test_a_failing_value_fails_its_trial_and_the_search_goes_on(search):
    all_trials = trials(search)
    assert all_trials[0].params["batch_size"] == 0 and all_trials[0].state == TrialState.FAIL
    error = json.loads((search["dir"] / "0" / "failed.json").read_text())["error"]
    assert "batch_size=0" in error
    for trial in all_trials:
        if trial.params["batch_size"] == 0:
            assert trial.state == TrialState.FAIL
        else:
            assert trial.state in (TrialState.COMPLETE, TrialState.PRUNED), trial
            assert (search["dir"] / str(trial.number) / "summary.json").is_file()
    assert sum(t.state == TrialState.COMPLETE for t in all_trials) >= 2


@pytest.mark.slow
def test_optimization_results_name_the_best_trial_and_how_to_rerun_it(search):
    study = load_study(search["dir"] / "optuna.journal", "search")
    results = yaml.safe_load((search["dir"] / "optimization_results.yaml").read_text())
    best = study.best_trial
    assert results["best"]["trial"] == best.number and results["best"]["value"] == pytest.approx(best.value)
    assert results["best"]["params"] == best.params and results["direction"] == "maximize"
    summary = json.loads((search["dir"] / str(best.number) / "summary.json").read_text())
    assert summary["best"]["value"] == pytest.approx(best.value)
    command = results["best"]["command"]
    assert command.startswith("dlrun ") and f"lr={best.params['lr']!r}" in command and "epochs=3" in command
    assert results["trials"]["total"] == 12
    for name in ("optimization_history.png", "param_importances.png", "report.csv", "report.md", "report.png"):
        assert (search["dir"] / name).stat().st_size > 0, name
    report = (search["dir"] / "report.csv").read_text()
    assert "pruned at epoch" in report and "failed: " in report and "completed" in report


@pytest.mark.slow
def test_running_again_with_more_trials_continues_the_study(search):
    assert search["results_before"]["trials"]["total"] == 8
    all_trials = trials(search)
    assert [t.number for t in all_trials] == list(range(12))
    for number, params in search["before"].items():  # the first 8 are as they were, not run again
        assert all_trials[number].params == params
    new = [tuple(sorted(t.params.items())) for t in all_trials[8:]]
    old = [tuple(sorted(p.items())) for p in search["before"].values()]
    assert not set(new) & set(old), "the continued study drew earlier values again"
    assert "8 of 12 trials so far" in search["again"].stdout
    assert all((search["dir"] / str(n) / ".hydra").is_dir() for n in range(12))


@pytest.mark.slow
def test_the_best_trials_command_trains_it_again_as_one_run(search, tmp_path):
    import shlex
    import subprocess

    from tests.processes import DLRUN, cli_env

    command = yaml.safe_load((search["dir"] / "optimization_results.yaml").read_text())["best"]["command"]
    args = shlex.split(command)[1:]
    result = subprocess.run(
        [DLRUN, *args, "hydra.run.dir=again"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=cli_env()
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert summary["status"] == "completed" and "search" not in summary
    best = load_study(search["dir"] / "optuna.journal", "search").best_trial
    assert summary["overrides"][-3:] == [
        f"lr={best.params['lr']!r}",
        f"optimizer={best.params['optimizer']}",
        f"batch_size={best.params['batch_size']}",
    ]
