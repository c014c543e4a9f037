"""A forward (and backward) pass for every built-in model and a sample of torchvision
architectures on the small inputs dlrun's datasets produce."""

import dataclasses

import pytest
import torch
import torchvision
from omegaconf import OmegaConf

from dlrun import models
from dlrun.datasets.info import CLASSIFICATION, REGRESSION, DataInfo
from dlrun.errors import DlrunError
from dlrun.models.catalog import BUILTIN_MODELS, TORCHVISION_CLASSIFIERS, TORCHVISION_SEGMENTERS

DIGITS = DataInfo(CLASSIFICATION, 10, (1, 8, 8))
RGB = DataInfo(CLASSIFICATION, 5, (3, 32, 32))
TABULAR = DataInfo(REGRESSION, 1, (13,))

# One of each family; the heavy ones are exercised at their smallest variant.
SAMPLE = [
    "resnet50",
    "vgg11",
    "densenet121",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "convnext_tiny",
    "vit_b_16",
    "swin_t",
    "regnet_x_400mf",
    "alexnet",
    "inception_v3",
    "googlenet",
    "squeezenet1_1",
    "shufflenet_v2_x0_5",
    "mnasnet0_5",
]


def test_every_offered_torchvision_model_is_installed():
    """Tolerant of a newer torchvision: a name dlrun offers must exist (that fails); a new
    classifier that dlrun does not offer yet is a warning naming it."""
    import warnings

    installed = set(torchvision.models.list_models(module=torchvision.models))
    gone = sorted(set(TORCHVISION_CLASSIFIERS) - installed)
    assert not gone, f"dlrun/models/catalog.py offers models torchvision {torchvision.__version__} lacks: {gone}"
    new = sorted(installed - set(TORCHVISION_CLASSIFIERS))
    if new:
        warnings.warn(
            f"torchvision {torchvision.__version__} has classifiers dlrun does not offer yet: {new} "
            "(add them to dlrun/models/catalog.py)",
            stacklevel=1,
        )


def _cfg(name, **extra):
    import yaml

    from dlrun.config.tree import conf_dir

    path = conf_dir() / "model" / f"{name}.yaml"
    base = yaml.safe_load(path.read_text()) if path.exists() else {"name": name}
    return OmegaConf.create({**base, **extra})


def _forward_backward(model, info, batch=4):
    from dlrun import tasks

    x = torch.randn(batch, *info.input_shape)
    out = model(x)
    assert out.shape == (batch, *tasks.get(info.task).output_shape(info))
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_builtin_models_forward(name):
    if name == "unet":  # a class per pixel
        for info in (DIGITS, RGB, dataclasses.replace(RGB, input_shape=(3, 13, 10))):
            info = dataclasses.replace(info, task="segmentation")
            _forward_backward(models.build(_cfg(name), info), info)
        return
    _forward_backward(models.build(_cfg(name), DIGITS), DIGITS)
    _forward_backward(models.build(_cfg(name), RGB), RGB)


def test_the_segmentation_models_are_torchvisions():
    assert sorted(TORCHVISION_SEGMENTERS) == sorted(
        torchvision.models.list_models(module=torchvision.models.segmentation)
    )


@pytest.mark.parametrize("name", ["fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"])
@pytest.mark.slow
def test_torchvision_segmentation_models_size_their_heads_and_keep_the_image_size(name):
    info = dataclasses.replace(RGB, task="segmentation", input_shape=(1, 40, 36), num_outputs=5)
    model = models.build(OmegaConf.create({"name": name}), info)
    model.train()
    out = model(torch.randn(2, 1, 40, 36))
    expected = {"out", "aux"} if name.startswith(("fcn", "deeplabv3")) else None
    assert (set(out) == expected) if expected else out.shape == (2, 5, 40, 36)
    model.eval()
    assert model(torch.randn(2, 1, 40, 36)).shape == (2, 5, 40, 36)


def test_mlp_takes_tabular_input_and_cnn_refuses_it():
    _forward_backward(models.build(_cfg("mlp"), TABULAR), TABULAR)
    with pytest.raises(DlrunError, match="model=cnn needs image input"):
        models.build(_cfg("cnn"), TABULAR)


@pytest.mark.parametrize("name", SAMPLE)
@pytest.mark.slow
def test_torchvision_model_on_8x8_grayscale(name):
    torch.manual_seed(0)
    model = models.build(_cfg(name), DIGITS)
    model.train()
    _forward_backward(model, DIGITS)


def test_torchvision_head_sized_to_classes_and_input_adapted():
    model = models.build(_cfg("resnet18"), RGB)
    assert model.net.fc.out_features == 5
    assert model.adapter.mix is None and model.adapter.size is None  # 32x32 RGB runs as it is
    model = models.build(_cfg("vgg11"), DIGITS)
    assert model.adapter.size == (32, 32)  # below VGG's minimum: upsampled
    four_channels = DataInfo(CLASSIFICATION, 3, (4, 16, 16))
    model = models.build(_cfg("resnet18"), four_channels)
    assert isinstance(model.adapter.mix, torch.nn.Conv2d)
    _forward_backward(model, four_channels)


def test_unknown_model_suggests_close_names():
    with pytest.raises(DlrunError, match=r"Unknown model 'resnet19'\. Did you mean: resnet18"):
        models.build(_cfg("resnet19"), DIGITS)


def test_dropout_out_of_range_is_a_clear_error(make_cfg):
    from dlrun.checks import validate

    with pytest.raises(DlrunError, match="model.dropout=1.5 is not valid: use a probability with 0 <= p < 1"):
        validate(make_cfg("model=mlp", "model.dropout=1.5"))


def test_models_command_filters_and_sorts_naturally(dlrun_cli, tmp_path):
    result = dlrun_cli("models", "resnet*")
    assert result.returncode == 0, result.stderr
    names = [line.split("│")[1].strip() for line in result.stdout.splitlines() if line.startswith("│")]
    assert names == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    everything = dlrun_cli("models")
    for name in ("cnn", "mlp", "linear", "custom", "hub", "vit_b_16", "swin_v2_t"):
        assert f"│ {name} " in everything.stdout
    conf = tmp_path / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / "my_hub_net.yaml").write_text("defaults: [hub, _self_]\nrepo: hubdir\nentrypoint: net\n")
    mine = dlrun_cli("models", "my_*", "--config-dir", str(tmp_path / "conf"))
    assert "my_hub_net" in mine.stdout and "config" in mine.stdout
    none = dlrun_cli("models", "resnet19*")
    assert none.returncode == 1 and "no model matches" in none.stderr


@pytest.mark.slow
def test_smp_builds_its_architectures_for_the_datas_channels_and_classes():
    info = dataclasses.replace(RGB, task="segmentation", input_shape=(1, 64, 32), num_outputs=3)
    for arch in ("Unet", "FPN"):
        model = models.build(OmegaConf.create({"name": "smp", "arch": arch, "encoder": "resnet18"}), info)
        _forward_backward(model, info, batch=2)
    with pytest.raises(DlrunError, match="'Unett' is not an smp architecture. Did you mean: unet"):
        models.build(OmegaConf.create({"name": "smp", "arch": "Unett", "encoder": "resnet18"}), info)


@pytest.mark.slow
def test_segmentation_weights_from_the_hub_cache_load_with_a_new_last_layer(tmp_path, monkeypatch):
    """model.weights=DEFAULT (COCO_WITH_VOC_LABELS_V1, 21 classes), as torch.hub caches it, no
    network: every tensor loads except the classifiers' last layers, sized to 4 classes; an
    auxiliary head the model is built without is left out."""
    from torchvision import models as tvm

    from dlrun.models import weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    name = "deeplabv3_mobilenet_v3_large"
    published = tvm.get_model(name, weights=None, weights_backbone=None, num_classes=21, aux_loss=True)
    path = weights.cached_file(tvm.get_model_weights(name).DEFAULT)
    path.parent.mkdir(parents=True)
    torch.save(published.state_dict(), path)
    info = dataclasses.replace(RGB, task="segmentation", input_shape=(3, 32, 32), num_outputs=4)
    said = []
    cfg = OmegaConf.create({"name": name, "weights": "DEFAULT", "aux_loss": False, "download": False})
    model = models.build(cfg, info, say=said.append)
    state, source = model.net.state_dict(), published.state_dict()
    assert torch.equal(state["backbone.0.0.weight"], source["backbone.0.0.weight"])
    assert state["classifier.4.weight"].shape[0] == 4 and not any(k.startswith("aux_classifier") for k in state)
    assert said and "left out" in said[0] and "4 outputs" in said[0]
    model.eval()
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 4, 32, 32)
