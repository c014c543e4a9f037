"""Your own nn.Module (model=custom) and torch.hub entrypoints (model=hub), offline."""

import json
import sys
import textwrap

import pytest

from dlrun.errors import DlrunError

NETS = '''
import torch
from torch import nn


class Net(nn.Module):
    """The class every course writes: __init__ builds layers, forward uses them."""

    def __init__(self, in_features, num_classes, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.out(self.body(x))


class Fixed(nn.Module):
    """Takes no sizes: its 7 outputs are replaced by a head sized to the data."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 7))

    def forward(self, x):
        return self.net(x)


class ForMnist(nn.Module):
    """Written for 28x28 images: digits' 8x8 do not fit its first layer."""

    def __init__(self, num_classes):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))

    def forward(self, x):
        return self.net(x)


class ThreeOutputs(nn.Module):
    """Its forward keeps only 3 of the outputs its last layer makes."""

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, num_classes))

    def forward(self, x):
        return self.net(x)[:, :3]
'''

HUBCONF = '''
dependencies = ["torch"]

from torch import nn


def small_net(in_channels=1, num_classes=10, width=8):
    """A tiny CNN."""
    return nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(width, num_classes))


def _private():
    pass
'''


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    (tmp_path / "my_nets.py").write_text(NETS)
    hub = tmp_path / "hubdir"
    hub.mkdir()
    (hub / "hubconf.py").write_text(HUBCONF)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sys.modules.pop("my_nets", None)


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def test_custom_model_from_the_working_directory(train, user_dir):
    run_dir = train("model=custom", "model.class_path=my_nets.Net", "model.kwargs={hidden: 48}", "epochs=3")
    result = summary(run_dir)
    assert result["parameters"]["total"] == 64 * 48 + 48 + 48 * 10 + 10
    assert result["test"]["test/acc"] > 0.8


def test_custom_model_without_size_arguments_gets_a_new_head(train, user_dir):
    run_dir = train("model=custom", "model.class_path=my_nets.Fixed", "epochs=1")
    assert summary(run_dir)["parameters"]["total"] == 64 * 16 + 16 + 16 * 10 + 10
    said = (run_dir / "train.log").read_text()  # what the console says, kept with the run
    assert "model my_nets.Fixed: its last layer did not give this data's 10 outputs" in said
    assert "net.3: Linear 16 -> 7 replaced by a new Linear 16 -> 10" in said


def test_local_hub_directory(train, user_dir):
    run_dir = train(
        "model=hub",
        f"model.repo={user_dir / 'hubdir'}",
        "model.entrypoint=small_net",
        "model.kwargs={width: 12}",
        "epochs=2",
    )
    assert summary(run_dir)["parameters"]["total"] == 1 * 12 * 9 + 12 + 12 * 10 + 10


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["model=custom", "model.class_path=my_nets.Nett"], "has no 'Nett'. Did you mean: Net"),
        (
            ["model=custom", "model.class_path=my_nets.Net", "model.kwargs={depth: 3}"],
            "unexpected keyword argument 'depth'",
        ),
        (
            ["model=hub", "model.repo=hubdir", "model.entrypoint=small_nett"],
            "not in .*hubconf.py. Did you mean: small_net",
        ),
        (
            ["model=hub", "model.repo=someone/repo", "model.entrypoint=x"],
            "pass model.trust_repo=true|Pass model.trust_repo=true",
        ),
        (["model=hub", "model.repo=nowhere_dir/", "model.entrypoint=x", "model.source=local"], "no hubconf.py"),
        (
            ["model=custom", "model.class_path=my_nets.ForMnist"],
            r"model=custom \(my_nets.ForMnist\) does not fit the data: given a batch of shape \(2, 1, 8, 8\) \(samples "
            r"\(1, 8, 8\), 10 classes\) its forward pass failed with RuntimeError: mat1 and mat2 shapes cannot be "
            r"multiplied.*To fix: change the model's layers to take images of this size",
        ),
        (
            ["model=custom", "model.class_path=my_nets.ThreeOutputs"],
            r"returned outputs of shape \(2, 3\) for a batch of 2; this data needs \(2, 10\): 10 classes",
        ),
    ],
)
def test_user_model_errors(train, user_dir, overrides, message):
    with pytest.raises(DlrunError, match=message):
        train(*overrides, "epochs=1")


@pytest.mark.slow
def test_user_model_yaml_through_config_dir(dlrun_cli, user_dir):
    conf = user_dir / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / "mynet.yaml").write_text(
        textwrap.dedent("""
        defaults:
          - custom
          - _self_
        class_path: my_nets.Net
        kwargs: {hidden: 20}
    """)
    )
    result = dlrun_cli("--config-dir", str(user_dir / "conf"), "model=mynet", "epochs=1", "logger=none", cwd=user_dir)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (user_dir / "outputs" / "runs").iterdir()
    assert summary(run_dir)["parameters"]["total"] == 64 * 20 + 20 + 20 * 10 + 10
