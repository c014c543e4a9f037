"""Hydra's sweep syntax read as Optuna distributions, and the per-trial seeds."""

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from dlrun.errors import DlrunError
from dlrun.search.settings import grid_values, trial_seed
from dlrun.search.space import search_space


def test_each_sweep_form_becomes_its_distribution():
    space = search_space(
        {"model.dropout": "interval(0.0, 0.5)"},
        [
            "lr=tag(log, interval(1e-4, 1e-1))",
            "optimizer=adam,sgd",
            "batch_size=range(16,129,step=16)",
            "loader.shuffle=choice(true, false)",
            "epochs=3",
        ],
    )
    d = space.distributions
    assert d["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert d["model.dropout"] == FloatDistribution(0.0, 0.5)
    assert d["optimizer"] == CategoricalDistribution(["adam", "sgd"])
    assert d["batch_size"] == IntDistribution(16, 128, step=16)  # Hydra's stop (129) stays exclusive
    assert d["loader.shuffle"] == CategoricalDistribution([True, False])
    assert space.fixed == ["epochs=3"]
    assert space.trial_overrides({"lr": 0.00123, "loader.shuffle": False}) == [
        "epochs=3",
        "lr=0.00123",
        "loader.shuffle=false",
    ]


def test_range_stop_is_exclusive_also_when_it_falls_on_the_step():
    space = search_space({}, ["batch_size=range(16,128,step=16)", "x=range(0.1,1.0,step=0.2)"])
    assert space.distributions["batch_size"] == IntDistribution(16, 112, step=16)
    assert space.distributions["x"].high == pytest.approx(0.9)


def test_the_command_line_wins_over_a_preset_for_the_same_key():
    space = search_space({"lr": "interval(0.1, 0.2)", "optimizer": "choice(adam, sgd)"}, ["lr=interval(0.3, 0.4)"])
    assert space.distributions["lr"] == FloatDistribution(0.3, 0.4)
    assert "optimizer" in space.distributions


@pytest.mark.parametrize(
    "override, message",
    [
        ("lr=interval(0.1, 0.01)", "lower bound"),
        ("lr=tag(log, interval(0, 1))", "above 0"),
        ("batch_size=range(64, 16)", "is empty"),
        ("optimizer=tag(log, choice(adam, sgd))", "not to a list"),
        ("batch_size=tag(log, range(16, 128, step=16))", "step=1"),
    ],
)
def test_a_sweep_the_search_cannot_use_is_named(override, message):
    with pytest.raises(DlrunError, match=message):
        search_space({}, [override])


def test_nothing_to_search_is_an_error():
    with pytest.raises(DlrunError, match="nothing to search"):
        search_space({}, ["epochs=3"])


def test_grid_values_from_choices_and_ranges_but_not_intervals():
    space = search_space({}, ["optimizer=adam,sgd", "batch_size=range(16,65,step=16)"])
    assert grid_values(space.distributions) == {"optimizer": ["adam", "sgd"], "batch_size": [16, 32, 48, 64]}
    with pytest.raises(DlrunError, match="interval"):
        grid_values(search_space({}, ["lr=interval(0.1, 0.2)"]).distributions)


def test_trial_seeds_are_reproducible_and_distinct():
    seeds = [trial_seed(0, n) for n in range(100)]
    assert seeds == [trial_seed(0, n) for n in range(100)] and len(set(seeds)) == 100
    assert trial_seed(1, 0) != trial_seed(0, 0) and trial_seed(None, 3) is None
