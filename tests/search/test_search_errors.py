"""Wrong search settings: one clear message, exit code 2, no traceback, before any trial or import."""

import pytest

from tests.processes import dlrun

LR = "lr=tag(log, interval(1e-4, 1e-1))"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ("hydra.sweeper.sampler.name=tpee",),
            "Unknown sampler (hydra.sweeper.sampler.name) 'tpee'. Did you mean: tpe?",
        ),
        (("hydra.sweeper.pruner.name=medain",), "Did you mean: median?"),
        (("hydra.sweeper.n_trials=0",), "hydra.sweeper.n_trials=0 must be a whole number >= 1"),
        (("hydra.sweeper.n_jobs=-1", "hydra.sweeper.direction=up"), "  - hydra.sweeper.direction='up' is not valid"),
        (("hydra.sweeper.storage=sqlite:///o.db",), "name the study too"),
        (("dataset=csv", "dataset.path=a.csv", "dataset.target=y"), "set trainer.monitor"),
        (("hydra.sweeper.sampler.name=grid",), "lr is an interval"),
        (("batch_size=range(64, 16)",), "is empty"),
        (("hydra.sweeper.sampler.options={bogus: 1}",), "unexpected keyword argument 'bogus'"),
        (("hydra.sweeper.pruner.n_startup_trials=-3",), "hydra.sweeper.pruner: MedianPruner could not be built"),
        (("hydra.sweeper.enqueue=[{momentum: 0.9}]",), "enqueue names momentum, which the search does not vary"),
    ],
)
def test_bad_search_settings_get_a_clear_error(tmp_path, args, message):
    result = dlrun(
        "-m",
        "hydra/sweeper=optuna",
        LR,
        "epochs=1",
        "logger=none",
        *args,
        "hydra.sweep.dir=s",
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "s" / "0").exists(), "no trial ran"


def test_a_search_with_nothing_to_vary_says_what_to_give(tmp_path):
    result = dlrun("-m", "hydra/sweeper=optuna", "epochs=1", cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "nothing to search" in result.stderr and "hparams_search=" in result.stderr


def test_a_mistyped_preset_gets_a_suggestion(tmp_path):
    result = dlrun("-m", "hparams_search=digits_optuan", cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "Did you mean: digits_optuna?" in result.stderr
