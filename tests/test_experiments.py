"""Named presets in conf/experiment/: each opens with its command, composes, and trains."""

import json

import pytest
import torchvision.datasets as tvd

from dlrun.config.tree import conf_dir, group_options

from .datasets import fixtures

EXPERIMENTS = sorted(group_options("experiment"))


def test_the_promised_presets_exist():
    assert {
        "digits_cnn",
        "diabetes_regression",
        "wine_classification",
        "image_folder_finetune",
        "cifar10_resnet18",
    } <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_preset_opens_with_its_command_and_composes(make_cfg, name):
    lines = (conf_dir() / "experiment" / f"{name}.yaml").read_text().splitlines()
    assert lines[0] == "# @package _global_"  # Hydra reads this directive only as the first line
    assert lines[1].startswith(f"# dlrun experiment={name}")
    cfg = make_cfg(f"experiment={name}", "dataset.root=/data" if "folder" in name or "resnet50" in name else "seed=0")
    assert cfg.epochs >= 1


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


@pytest.mark.parametrize(
    "name,overrides,metric,floor",
    [
        ("digits_cnn", ["epochs=4"], "test/acc", 0.9),
        ("wine_classification", ["epochs=15"], "test/acc", 0.85),
        ("diabetes_regression", ["epochs=30"], "test/r2", 0.2),
    ],
)
def test_builtin_presets_train(train, name, overrides, metric, floor):
    run_dir = train(f"experiment={name}", *overrides)
    assert summary(run_dir)["test"][metric] > floor, summary(run_dir)["test"]


def test_image_folder_finetune_preset(train, tmp_path):
    root = fixtures.image_tree(tmp_path / "pets", per_class=10)
    run_dir = train(
        "experiment=image_folder_finetune",
        f"dataset.root={root}",
        "epochs=1",
        "batch_size=8",
        "dataset.transforms.resize=[40,40]",
        "dataset.transforms.random_crop=32",
        "loader.num_workers=0",
    )
    result = summary(run_dir)
    assert result["data"]["input_shape"] == [3, 32, 32] and result["data"]["class_names"] == ["cat", "dog"]


def test_cifar10_resnet18_preset(train, tmp_path, monkeypatch):
    sums = fixtures.cifar(tmp_path / "data", tvd.CIFAR10)
    monkeypatch.setattr(tvd.CIFAR10, "train_list", [[n, sums[n]] for n, _ in tvd.CIFAR10.train_list])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [[n, sums[n]] for n, _ in tvd.CIFAR10.test_list])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {**tvd.CIFAR10.meta, "md5": sums["batches.meta"]})
    run_dir = train(
        "experiment=cifar10_resnet18",
        f"dataset.root={tmp_path / 'data'}",
        "dataset.download=false",
        "epochs=1",
        "batch_size=32",
        "loader.num_workers=0",
    )
    result = summary(run_dir)
    assert result["parameters"]["total"] > 11_000_000 and result["data"]["input_shape"] == [3, 32, 32]


def test_datasets_command_lists_every_option(dlrun_cli):
    result = dlrun_cli("datasets")
    assert result.returncode == 0, result.stderr
    for name in group_options("dataset"):
        assert name in result.stdout
    assert "download" in result.stdout and "dataset.path" in result.stdout
    only = dlrun_cli("datasets", "cifar*")
    assert "cifar100" in only.stdout and "mnist" not in only.stdout
    none = dlrun_cli("datasets", "zzz*")
    assert none.returncode == 1 and "no dataset matches" in none.stderr
