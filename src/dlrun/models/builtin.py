"""dlrun's own small models, sized from the DataInfo."""

import math

import torch
from torch import nn

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError
from dlrun.models.unet import unet  # noqa: F401  (model=unet: a builder of this table)

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}


def _activation(name) -> nn.Module:
    return ACTIVATIONS[name]()  # model.activation: one of ACTIVATIONS, checked with the config


def linear(cfg, info: DataInfo) -> nn.Module:
    """Flatten, then one linear layer: linear or (with cross-entropy) logistic regression."""
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(info.input_shape), info.num_outputs, bias=cfg.bias))


def mlp(cfg, info: DataInfo) -> nn.Module:
    """Flatten, then Linear-[BatchNorm]-activation-Dropout per hidden width, then a linear head."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(info.input_shape)
    for hidden in cfg.hidden:
        layers.append(nn.Linear(width, hidden))
        if cfg.batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers += [_activation(cfg.activation), nn.Dropout(cfg.dropout)]
        width = hidden
    layers.append(nn.Linear(width, info.num_outputs))
    return nn.Sequential(*layers)


def cnn(cfg, info: DataInfo) -> nn.Module:
    """Conv blocks (conv, batch norm, ReLU, 2x2 max or average pool while the map is >= 2 px),
    average pooling to a 2x2 grid, dropout, linear head.

    The 2x2 grid (not one global average) keeps where in the image a feature is: on small
    images such as 16x16 digits a global average learns several times slower."""
    if not info.is_image:
        raise DlrunError(
            f"model=cnn needs image input (channels, height, width); this dataset gives {info.input_shape}. "
            "Use model=mlp for tabular data."
        )
    pools = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}  # model.pooling (checked with the config)
    channels, size = info.input_shape[0], min(info.input_shape[1:])
    layers: list[nn.Module] = []
    for out in cfg.channels:
        layers += [
            nn.Conv2d(channels, out, cfg.kernel_size, padding=cfg.kernel_size // 2),
            nn.BatchNorm2d(out),
            nn.ReLU(),
        ]
        if size >= 2:
            layers.append(pools[cfg.pooling](2))
            size //= 2
        channels = out
    grid = 2 if size >= 2 else 1
    layers += [
        nn.AdaptiveAvgPool2d(grid),
        nn.Flatten(),
        nn.Dropout(cfg.dropout),
        nn.Linear(channels * grid * grid, info.num_outputs),
    ]
    return nn.Sequential(*layers)


class InTargetUnits(nn.Module):
    """Regression: the net predicts z-scores of the targets; this maps them back to the
    data's own units with the training targets' mean and std (fixed buffers), so
    predictions and metrics read in those units."""

    def __init__(self, net: nn.Module, mean, std):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * self.std + self.mean
