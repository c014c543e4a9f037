"""Pretrained weights (files and torchvision's cache), frozen backbones, unfreezing,
separate learning rates. Every weight file is generated here; nothing is downloaded."""

import json

import pytest
import torch
import torchvision
import yaml

from dlrun.engine.checkpoint import load_checkpoint
from dlrun.errors import DlrunError

from ..datasets import fixtures


@pytest.fixture
def pets(tmp_path):
    return fixtures.image_tree(tmp_path / "pets", per_class=10, size=32)


def image_args(root):
    return (
        "dataset=image_folder",
        f"dataset.root={root}",
        "dataset.transforms.resize=32",
        "batch_size=8",
        "loader.num_workers=0",
    )


def imagenet_resnet18(seed=0) -> dict:
    torch.manual_seed(seed)
    return torchvision.models.resnet18(num_classes=1000).state_dict()


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_frozen_backbone_trains_only_the_head(train, pets, tmp_path, suffix):
    pretrained = imagenet_resnet18()
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(pretrained, str(path))
    else:
        torch.save(pretrained, path)
    run_dir = train(
        *image_args(pets), "model=resnet18", f"model.weights={path}", "model.freeze=backbone", "epochs=2", "lr=1e-2"
    )
    trained = load_checkpoint(run_dir / "checkpoints" / "last.pt")["model"]
    for name, tensor in pretrained.items():
        if name.startswith("fc."):
            continue
        assert torch.equal(trained[f"net.{name}"], tensor), f"{name} changed although frozen"
    assert trained["net.fc.weight"].shape == (2, 512)  # a new head for the two classes
    assert (
        "the weights' head (fc, 1000 outputs) was left out; a new one gives this data's 2 outputs"
        in (run_dir / "train.log").read_text()
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["parameters"]["trainable"] == 512 * 2 + 2 < summary["parameters"]["total"]


def test_unfreeze_after_n_epochs_and_backbone_lr(train, pets, tmp_path):
    path = tmp_path / "r18.pth"
    torch.save(imagenet_resnet18(), path)
    run_dir = train(
        *image_args(pets),
        "model=resnet18",
        f"model.weights={path}",
        "model.freeze=backbone",
        "model.unfreeze_at_epoch=2",
        "model.backbone_lr=1e-4",
        "epochs=2",
        "optimizer=sgd",
        "lr=0.01",
    )
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert [g["lr"] for g in state["optimizer"]["param_groups"]] == [0.01, 1e-4]
    pretrained = imagenet_resnet18()
    assert not torch.equal(state["model"]["net.conv1.weight"], pretrained["conv1.weight"]), "unfrozen at epoch 2"


def test_weight_enum_from_the_cache_with_its_preprocessing(train, pets, tmp_path, monkeypatch):
    from dlrun.models.weights import cached_file

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    enum = torchvision.models.ResNet18_Weights.DEFAULT
    cache = cached_file(enum)
    assert str(cache).startswith(str(tmp_path / "torch"))
    cache.parent.mkdir(parents=True)
    torch.save(imagenet_resnet18(seed=3), cache)
    run_dir = train(
        "dataset=image_folder",
        f"dataset.root={pets}",
        "batch_size=8",
        "loader.num_workers=0",
        "model=resnet18",
        "model.weights=DEFAULT",
        "model.download=false",
        "epochs=1",
        "model.freeze=backbone",
    )
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    transforms = config["dataset"]["transforms"]
    assert (transforms["resize"], transforms["random_crop"]) == (256, 224)
    assert transforms["normalize"]["mean"] == pytest.approx([0.485, 0.456, 0.406])
    trained = load_checkpoint(run_dir / "checkpoints" / "best.pt")["model"]
    assert torch.equal(trained["net.layer1.0.conv1.weight"], imagenet_resnet18(seed=3)["layer1.0.conv1.weight"])


def test_chosen_transforms_win_over_the_weights_preprocessing(make_cfg, tmp_path, monkeypatch):
    from dlrun.run.build import use_pretrained_preprocessing

    cfg = make_cfg(
        "dataset=image_folder",
        "dataset.root=x",
        "model=resnet18",
        "model.weights=DEFAULT",
        "dataset.transforms.resize=64",
    )
    use_pretrained_preprocessing(cfg, ["dataset.transforms.resize=64"], print)
    assert cfg.dataset.transforms.resize == 64 and cfg.dataset.transforms.normalize == "dataset"
    use_pretrained_preprocessing(cfg, [], print)
    assert cfg.dataset.transforms.resize == 256


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["model.weights=DEFAULT", "model.download=false"], "not cached and model.download=false. Put resnet18-"),
        (["model.weights=IMAGENET1K_V9"], "not a weight of resnet18. Did you mean: IMAGENET1K_V1"),
        (["model.weights=missing.pth"], "no such file"),
        (["model.freeze=head"], "model.freeze='head' is not valid"),
        (["model.unfreeze_at_epoch=2"], "needs model.freeze=backbone"),
    ],
)
def test_weight_and_freeze_errors(train, pets, tmp_path, monkeypatch, overrides, message):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    with pytest.raises(DlrunError, match=message):
        train(*image_args(pets), "model=resnet18", "epochs=1", *overrides)


def test_weights_of_another_architecture(train, pets, tmp_path):
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34().state_dict(), path)
    with pytest.raises(DlrunError, match="do not fit model=resnet18.*another architecture"):
        train(*image_args(pets), "model=resnet18", f"model.weights={path}", "epochs=1")


@pytest.mark.slow
def test_missing_cached_weights_from_the_cli(dlrun_cli, tmp_path):
    result = dlrun_cli(
        "model=resnet18",
        "model.weights=DEFAULT",
        "model.download=false",
        "logger=none",
        env={"TORCH_HOME": str(tmp_path / "th")},
    )
    assert result.returncode == 2 and "TORCH_HOME" in result.stderr and str(tmp_path / "th") in result.stderr
    assert "Traceback" not in result.stderr
