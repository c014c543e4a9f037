"""`dlrun lr-find`: a seeded, repeatable range test whose suggestion trains well."""

import argparse
import json
import re

import pytest
import torch


@pytest.mark.slow
def test_lr_find_on_digits_suggests_a_rate_that_trains_as_well_as_the_default(dlrun_cli, train, tmp_path):
    result = dlrun_cli("lr-find", "--output", "found")
    assert result.returncode == 0, result.stderr
    rate = float(re.search(r"suggested lr: (\S+)", result.stdout).group(1))
    assert 1e-4 <= rate <= 1e-2  # Adam on the default CNN: within an order of magnitude of 1e-3
    assert f"train with it: dlrun lr={rate:g}" in result.stdout
    assert (tmp_path / "found" / "lr_find.png").stat().st_size > 10_000

    from dlrun.commands import lr_find  # the same test again, in this process: the same curve

    lr_find.main(argparse.Namespace(overrides=[], steps=100, min_lr=1e-7, max_lr=10.0, output=str(tmp_path / "again")))
    assert (tmp_path / "again" / "lr_find.csv").read_text() == (tmp_path / "found" / "lr_find.csv").read_text()

    default = json.loads((train(run_dir=tmp_path / "default") / "summary.json").read_text())["test"]["test/acc"]
    found = json.loads((train(f"lr={rate}", run_dir=tmp_path / "with") / "summary.json").read_text())["test"][
        "test/acc"
    ]
    assert found >= default - 0.01, (rate, found, default)


def test_the_range_test_leaves_the_model_and_optimizer_as_they_were():
    from torch.utils.data import DataLoader, TensorDataset

    from dlrun.training.lr_find import range_test

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = DataLoader(TensorDataset(torch.randn(64, 4), torch.randint(0, 3, (64,))), batch_size=16)
    result = range_test(
        model, data, torch.nn.CrossEntropyLoss(), optimizer, torch.device("cpu"), low=1e-6, high=1e2, steps=60
    )
    assert len(result.rates) > 20 and result.rates == sorted(result.rates)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert optimizer.param_groups[0]["lr"] == 1e-3 and not optimizer.state
