"""The search's figures: the importance plot only where there is more than one parameter to rank."""

import optuna

from dlrun.search.results import plots


def study_of(params: dict) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(6):
        trial = study.ask(params)
        study.tell(trial, sum(float(v) for v in trial.params.values()))
    return study


def test_importances_are_drawn_for_two_parameters_and_not_for_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    lr = optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    drawn_one = plots(study_of({"lr": lr}), one, 6, "val/acc")
    drawn_two = plots(study_of({"lr": lr, "wd": optuna.distributions.FloatDistribution(0, 1)}), two, 6, "val/acc")
    assert [p.name for p in drawn_one] == ["optimization_history.png"]
    assert not (one / "param_importances.png").exists()
    assert [p.name for p in drawn_two] == ["optimization_history.png", "param_importances.png"]
    assert (two / "param_importances.png").stat().st_size > 0
