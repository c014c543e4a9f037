"""Every option of every config group composes, and the top-level knobs reach the groups."""

import pytest
from omegaconf import OmegaConf

from dlrun.config.tree import GROUPS, group_options
from dlrun.models.catalog import TORCHVISION_CLASSIFIERS

OPTIONS = [(group, option) for group in GROUPS for option in sorted(group_options(group))]


def test_every_group_has_options():
    for group in GROUPS:
        assert group_options(group), group
    assert {"digits", "synthetic"} <= group_options("dataset")
    assert {"mlp", "cnn", "resnet50", "vgg16", "mobilenet_v3_small", "vit_b_16"} <= group_options("model")
    assert {
        "cross_entropy",
        "nll",
        "mse",
        "l1",
        "smooth_l1",
        "huber",
        "bce_with_logits",
        "dice",
        "ce_dice",
        "detection",
        "custom",
    } == group_options("loss")
    assert {"sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "custom"} == group_options("optimizer")
    assert {
        "none",
        "step",
        "multistep",
        "exponential",
        "cosine",
        "onecycle",
        "plateau",
        "warmup_cosine",
        "custom",
    } == group_options("scheduler")
    assert {"default", "cpu", "gpu", "debug", "ddp"} == group_options("trainer")
    assert {"wandb", "tensorboard", "mlflow", "none"} == group_options("logger")


@pytest.fixture(scope="module")
def compose_once():
    """compose(overrides) under one Hydra initialisation for the whole module (each option's
    own test would otherwise pay Hydra's set-up again)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from dlrun.config.tree import conf_dir, register_generated_options

    register_generated_options()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        yield lambda *overrides: compose(config_name="config", overrides=list(overrides))
    GlobalHydra.instance().clear()


@pytest.mark.parametrize("group,option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes(compose_once, group, option):
    cfg = compose_once(f"{group}={option}")
    if group == "model":
        assert cfg.model.name == option
    if option == "custom" and group in ("loss", "optimizer", "scheduler"):
        assert OmegaConf.is_missing(cfg[group], "class_path") and cfg[group].kwargs is None  # required
        return
    if group == "optimizer":
        assert cfg.optimizer.lr == cfg.lr and cfg.optimizer._partial_
    if group == "loss":
        assert cfg.loss._target_.startswith(
            ("torch.nn.", "dlrun.training.segmentation_losses.", "dlrun.training.detection_loss.")
        )


def test_defaults(make_cfg):
    cfg = make_cfg()
    assert (cfg.dataset.name, cfg.model.name, cfg.optimizer._target_) == ("digits", "cnn", "torch.optim.Adam")
    assert cfg.loss._target_ == "torch.nn.CrossEntropyLoss" and cfg.scheduler._target_ is None
    assert cfg.trainer.device == "auto" and "wandb" in cfg.logger
    assert cfg.seed == 0 and cfg.lr == 1e-3


def test_top_level_knobs_reach_the_groups(make_cfg):
    cfg = make_cfg("optimizer=sgd", "lr=0.05", "epochs=7", "seed=3", "scheduler=cosine")
    assert cfg.optimizer.lr == 0.05
    assert cfg.scheduler.T_max == 7
    assert cfg.dataset.split_seed == 3


def test_torchvision_models_are_options(make_cfg):
    for name in ("resnet50", "vit_b_16", "efficientnet_b0"):
        model = make_cfg(f"model={name}").model
        assert (model.name, model.source, model.weights, model.freeze) == (name, "torchvision", None, None)
    assert len(TORCHVISION_CLASSIFIERS) >= 80
