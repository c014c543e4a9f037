"""model=timm: timm's architectures sized to the data, random or with weights from a file."""

import json

import pytest
import torch

pytestmark = pytest.mark.slow  # trains timm's architectures

pytest.importorskip("timm")


def test_a_timm_model_trains_on_digits_and_on_a_png_folder(train, tmp_path):
    from tests.datasets import fixtures

    run_dir = train("model=timm", "model.arch=resnet10t", "epochs=2", run_dir=tmp_path / "digits")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["data"]["input_shape"] == [1, 8, 8] and summary["test"]["test/acc"] > 0.5
    root = fixtures.image_tree(tmp_path / "pets", per_class=10, size=16)
    folder = train(
        "model=timm",
        "model.arch=resnet10t",
        "dataset=image_folder",
        f"dataset.root={root}",
        "epochs=1",
        run_dir=tmp_path / "folder",
    )
    assert json.loads((folder / "summary.json").read_text())["data"]["input_shape"] == [3, 16, 16]


def test_small_images_are_upsampled_to_a_size_the_architecture_takes():
    from omegaconf import OmegaConf

    from dlrun import models
    from dlrun.datasets.info import DataInfo

    cfg = OmegaConf.create({"name": "timm", "arch": "vit_tiny_patch16_224", "weights": None, "kwargs": None})
    net = models.build(cfg, DataInfo("classification", 10, (1, 8, 8)))
    assert isinstance(net[0], torch.nn.Upsample) and net[0].size == (224, 224)  # its input size is fixed
    net.eval()
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_weights_from_a_local_file(train, tmp_path):
    import timm

    source = timm.create_model("resnet10t", num_classes=1000)  # an ImageNet-shaped checkpoint: 3 channels
    torch.save(source.state_dict(), tmp_path / "resnet10t.pth")
    run_dir = train(
        "model=timm",
        "model.arch=resnet10t",
        f"model.weights={tmp_path / 'resnet10t.pth'}",
        "model.freeze=backbone",
        "epochs=1",
        run_dir=tmp_path / "run",
    )
    trained = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    expected = source.state_dict()["layer1.0.conv1.weight"]
    assert torch.equal(trained["layer1.0.conv1.weight"], expected)  # loaded, and frozen with the backbone
    assert trained["conv1.0.weight"].shape[1] == 1  # the first conv adapted to 1 channel
    assert trained["fc.weight"].shape[0] == 10  # a new head for 10 classes
