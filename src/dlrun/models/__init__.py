"""Models: `build(cfg.model, info)` gives an nn.Module sized to the data.

A new built-in model is one function in builtin.py plus one YAML in conf/model/.
This package's import is light (no torch) because the CLI reads `catalog` from
it to check `model=` choices; the builders are imported when a model is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlrun.errors import unknown_choice
from dlrun.models.catalog import (
    AUDIO_MODELS,
    BUILTIN_MODELS,
    TEXT_MODELS,
    TORCHVISION_CLASSIFIERS,
    TORCHVISION_DETECTORS,
    TORCHVISION_SEGMENTERS,
    USER_MODELS,
)

if TYPE_CHECKING:
    from torch import nn

    from dlrun.datasets.info import DataInfo


def build(cfg, info: DataInfo, load_weights: bool = True, say=None) -> nn.Module:
    """The model `cfg.name` sized to `info`. `load_weights=False` builds the same architecture
    without fetching pretrained weights (a checkpoint's state is loaded into it instead).
    `say`: told when a last layer (a user's model's, pretrained weights') is replaced."""
    from dlrun.models import builtin, user_models

    name = cfg.name
    if name in BUILTIN_MODELS:
        net = getattr(builtin, name)(cfg, info)
    elif name == "hf":
        from dlrun.models import hf_models  # transformers: an optional dependency, imported only for model=hf

        net = hf_models.build(cfg, info, load_weights=load_weights, say=say)
    elif name in TEXT_MODELS:
        from dlrun.models import text

        net = getattr(text, name)(cfg, info)
    elif name in AUDIO_MODELS:
        from dlrun.models import audio

        net = getattr(audio, name)(cfg, info)
    elif name in USER_MODELS:
        net = getattr(user_models, name)(cfg, info, say)
    elif name == "timm":
        from dlrun.models import timm_models  # timm: an optional dependency, imported only for its models

        net = timm_models.build(cfg, info, load_weights=load_weights, say=say)
    elif name in TORCHVISION_CLASSIFIERS:
        from dlrun.models import torchvision_models  # torchvision: only for its models

        net = torchvision_models.build(cfg, info, load_weights=load_weights, say=say)
    elif name == "smp":
        from dlrun.models import smp_models  # segmentation-models-pytorch: an optional dependency

        net = smp_models.build(cfg, info, load_weights=load_weights, say=say)
    elif name in TORCHVISION_SEGMENTERS:
        from dlrun.models import torchvision_segmentation

        net = torchvision_segmentation.build(cfg, info, load_weights=load_weights, say=say)
    elif name in TORCHVISION_DETECTORS:
        from dlrun.models import torchvision_detection

        net = torchvision_detection.build(cfg, info, load_weights=load_weights, say=say)
    else:
        known = (
            *BUILTIN_MODELS,
            *TEXT_MODELS,
            *AUDIO_MODELS,
            *USER_MODELS,
            "timm",
            "smp",
            *TORCHVISION_CLASSIFIERS,
            *TORCHVISION_SEGMENTERS,
            *TORCHVISION_DETECTORS,
        )
        raise unknown_choice("model", name, known)
    if cfg.get("grad_checkpointing"):  # activation checkpointing: in training only, the model otherwise unchanged
        from dlrun.models.grad_checkpointing import enable

        how = enable(net)
        if say is not None:
            say(f"activation checkpointing: {how}" if how else "activation checkpointing: no block to checkpoint found")
    if info.target_mean is not None:
        return builtin.InTargetUnits(net, info.target_mean, info.target_std)
    return net


def preprocessing(cfg) -> dict | None:
    """The input transforms that pretrained weights expect, or None."""
    if cfg.name == "timm":
        from dlrun.models import timm_models

        return timm_models.preprocessing(cfg)
    if cfg.name not in TORCHVISION_CLASSIFIERS:
        return None
    from dlrun.models import torchvision_models

    return torchvision_models.preprocessing(cfg)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(total, trainable) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
