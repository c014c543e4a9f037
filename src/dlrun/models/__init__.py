"""Models: `build(cfg.model, info)` gives an nn.Module sized to the data.

A new built-in model is one function in builtin.py plus one YAML in conf/model/.
"""

from torch import nn

from dlrun.datasets.info import DataInfo
from dlrun.errors import unknown_choice
from dlrun.models import builtin, torchvision_models
from dlrun.models.catalog import BUILTIN_MODELS, TORCHVISION_CLASSIFIERS

BUILDERS = {"cnn": builtin.cnn, "mlp": builtin.mlp}
assert set(BUILDERS) == set(BUILTIN_MODELS), "catalog.BUILTIN_MODELS must list every builder"


def build(cfg, info: DataInfo) -> nn.Module:
    name = cfg.name
    if name in BUILDERS:
        return BUILDERS[name](cfg, info)
    if name in TORCHVISION_CLASSIFIERS:
        return torchvision_models.build(name, info)
    raise unknown_choice("model", name, (*BUILTIN_MODELS, *TORCHVISION_CLASSIFIERS))


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(total, trainable) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
