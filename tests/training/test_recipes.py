"""The pieces of a modern recipe: augmentation policies, random erasing, MixUp/CutMix with soft
targets, an EMA of the weights (validated, in best.pt, resumed exactly), SWA with update_bn,
and no weight decay on normalisation layers and biases."""

import csv
import json

import pytest
import torch

from dlrun.engine.checkpoint import load_checkpoint
from dlrun.errors import DlrunError
from tests.datasets import fixtures
from tests.stopping import crash_then_resume

IMAGES = ("model.channels=[8]", "batch_size=8", "loader.num_workers=0")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return fixtures.image_tree(tmp_path_factory.mktemp("recipes") / "pets", per_class=12, size=8)


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


@pytest.mark.parametrize(
    "preset,extra",
    [
        ("randaugment", []),
        ("trivialaugment", []),
        ("autoaugment", ["dataset.transforms.auto_augment.policy=cifar10"]),
        ("autoaugment", ["dataset.transforms.auto_augment.policy=svhn"]),
        ("augmix", []),
    ],
)
def test_each_augmentation_policy_trains_on_the_training_split_only(make_cfg, train, folder, tmp_path, preset, extra):
    from torchvision.transforms import v2

    from dlrun import datasets

    args = (
        "dataset=image_folder",
        f"dataset.root={folder}",
        f"dataset/transforms={preset}",
        "dataset.transforms.random_erasing=0.25",
        *extra,
    )
    bundle = datasets.build_bundle(make_cfg(*args).dataset)
    wanted = {
        "randaugment": v2.RandAugment,
        "trivialaugment": v2.TrivialAugmentWide,
        "autoaugment": v2.AutoAugment,
        "augmix": v2.AugMix,
    }[preset]
    train_steps = [type(t) for t in bundle.train.transform.transforms]
    assert wanted in train_steps and train_steps[-1] is v2.RandomErasing  # erasing after normalisation
    assert not any(isinstance(t, (wanted, v2.RandomErasing)) for t in bundle.val.transform.transforms)
    assert summary(train(*args, *IMAGES, "epochs=1", run_dir=tmp_path / "run"))["status"] == "completed"


def test_mixup_and_cutmix_give_soft_targets_and_converge(train, folder, tmp_path, monkeypatch):
    from dlrun.training.losses import Criterion

    seen = []
    forward = Criterion.forward
    monkeypatch.setattr(Criterion, "forward", lambda self, o, t: seen.append(tuple(t.shape)) or forward(self, o, t))
    run_dir = train(
        "dataset=image_folder",
        f"dataset.root={folder}",
        *IMAGES,
        "epochs=8",
        "lr=3e-3",
        "dataset.transforms.mixup_alpha=0.2",
        "dataset.transforms.cutmix_alpha=1.0",
        "loss.label_smoothing=0.1",
        run_dir=tmp_path / "mixed",
    )
    assert (8, 2) in seen and any(len(shape) == 1 for shape in seen)  # soft in training, indices in validation
    result = summary(run_dir)
    assert result["best"]["metrics"]["val/acc"] >= 0.8, result["best"]


@pytest.mark.parametrize("loss", ["nll", "mse"])
def test_a_loss_that_cannot_take_soft_targets_is_refused(train, folder, tmp_path, loss):
    with pytest.raises(DlrunError, match="soft targets .* which (NLLLoss|MSELoss) cannot take.*loss=cross_entropy"):
        train(
            "dataset=image_folder",
            f"dataset.root={folder}",
            *IMAGES,
            "epochs=1",
            f"loss={loss}",
            "dataset.transforms.mixup_alpha=0.2",
        )


def test_ema_is_validated_kept_in_best_pt_and_resumes_bit_identical(train, folder, tmp_path, monkeypatch):
    args = (
        "dataset=image_folder",
        f"dataset.root={folder}",
        "dataset.transforms.random_crop=6",
        "dataset.transforms.crop_padding=1",
        "dataset.transforms.horizontal_flip=true",
        "dataset.transforms.mixup_alpha=0.2",
        "dataset.transforms.cutmix_alpha=1.0",
        *IMAGES,
        "batch_size=4",
        "epochs=3",
        "trainer.ema.decay=0.8",
        "trainer.ema.every_n_steps=2",
        "trainer.ema.warmup_steps=3",
        "trainer.ema.evaluate=true",
        "trainer.checkpoint_every_n_steps=2",
        "trainer.log_every_n_steps=1",
    )
    reference = load_checkpoint(train(*args, run_dir=tmp_path / "ref") / "checkpoints" / "last.pt")
    ema = {k.removeprefix("module."): v for k, v in reference["averages"]["ema"].items() if k.startswith("module.")}
    assert any(not torch.equal(ema[k], v) for k, v in reference["model"].items())  # the average is not the weights
    best = load_checkpoint(tmp_path / "ref" / "checkpoints" / "best.pt")
    best_ema = {k.removeprefix("module."): v for k, v in best["averages"]["ema"].items() if k.startswith("module.")}
    assert all(torch.equal(best["model"][k], best_ema[k]) for k in best["model"])  # best.pt holds the EMA weights

    crash_then_resume(train, args, tmp_path / "stopped", monkeypatch, at_step=7)
    final = load_checkpoint(tmp_path / "stopped" / "checkpoints" / "last.pt")
    for part in ("model", "averages"):
        expected = reference[part] if part == "model" else reference[part]["ema"]
        got = final[part] if part == "model" else final[part]["ema"]
        for name, tensor in expected.items():
            assert torch.equal(got[name], tensor), f"{part} {name} differs from the uninterrupted run"


def test_swa_updates_batchnorm_and_its_averaged_model_is_the_result(train, tmp_path, monkeypatch):
    from torch.optim import swa_utils

    from dlrun.engine import averaging

    calls = []
    monkeypatch.setattr(averaging, "update_bn", lambda *a, **k: calls.append(1) or swa_utils.update_bn(*a, **k))
    run_dir = train(
        "model=cnn",
        "model.channels=[8,16]",
        "epochs=3",
        "trainer.swa.start_epoch=2",
        "trainer.swa.lr=5e-4",
        run_dir=tmp_path / "swa",
    )
    assert calls == [1]
    with open(run_dir / "metrics.csv") as f:
        assert [row["lr"] for row in csv.DictReader(f)] == ["0.001", "0.001", "0.0005"]  # SWALR
    best, last = (load_checkpoint(run_dir / "checkpoints" / f"{n}.pt") for n in ("best", "last"))
    swa = {k.removeprefix("module."): v for k, v in best["averages"]["swa"].items() if k.startswith("module.")}
    assert all(torch.equal(best["model"][k], swa[k]) for k in best["model"])
    assert any(not torch.equal(best["model"][k], last["model"][k]) for k in last["model"])
    assert summary(run_dir)["best"]["epoch"] == 3


def test_no_weight_decay_on_norms_and_biases(make_cfg):
    from dlrun.models.transfer import parameter_groups
    from dlrun.training.optimizers import build_optimizer

    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.Flatten(),
        torch.nn.LayerNorm(144),
        torch.nn.Linear(144, 3),
    )
    cfg = make_cfg("optimizer=adamw", "optimizer.weight_decay=0.05").optimizer
    groups = build_optimizer(cfg, parameter_groups(model, None), model).param_groups
    decayed, exempt = ({id(p) for p in g["params"]} for g in groups)
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0]
    assert decayed == {id(model[0].weight), id(model[4].weight)}
    assert exempt == {
        id(p) for p in (model[0].bias, model[1].weight, model[1].bias, model[3].weight, model[3].bias, model[4].bias)
    }
    everything = build_optimizer(
        make_cfg("optimizer=adamw", "optimizer.decay_norm_and_bias=true").optimizer,
        parameter_groups(model, None),
        model,
    )
    assert len(everything.param_groups) == 1 and everything.param_groups[0]["weight_decay"] == 0.01


def test_stochastic_depth_reaches_torchvision_models(make_cfg):
    from torchvision.ops import StochasticDepth

    from dlrun import models
    from dlrun.datasets.info import DataInfo

    cfg = make_cfg("model=efficientnet_b0", "model.kwargs={stochastic_depth_prob: 0.3}")
    model = models.build(cfg.model, DataInfo("classification", 3, (3, 32, 32), ("a", "b", "c")))
    rates = [m.p for m in model.modules() if isinstance(m, StochasticDepth)]
    assert rates and max(rates) == pytest.approx(0.3 * (len(rates) - 1) / len(rates))  # linear in depth, as torchvision
    with pytest.raises(DlrunError, match="does not take model.kwargs"):
        models.build(
            make_cfg("model=resnet18", "model.kwargs={stochastic_depth_prob: 0.3}").model,
            DataInfo("classification", 3, (3, 32, 32), ("a", "b", "c")),
        )
