"""`model=unet`: a small U-Net (Ronneberger et al., 2015) of dlrun's own, for segmentation on
small images and CPUs: per level two 3x3 conv-BN-ReLU, 2x2 max pooling down, transposed
convolutions up, skip connections by concatenation, a 1x1 conv to the classes. Any image
size: a level whose upsampled map differs from its skip by a pixel is resized to it."""

import torch
import torch.nn.functional as F
from torch import nn

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError


def block(inputs: int, outputs: int, dropout: float = 0.0) -> nn.Sequential:
    layers = [
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
        nn.Conv2d(outputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    ]
    return nn.Sequential(*layers, *([nn.Dropout2d(dropout)] if dropout else []))


class UNet(nn.Module):
    def __init__(self, in_channels: int, classes: int, channels: list[int], dropout: float = 0.0):
        super().__init__()
        self.down = nn.ModuleList()
        width = in_channels
        for out in channels[:-1]:
            self.down.append(block(width, out))
            width = out
        self.bottom = block(width, channels[-1], dropout)
        self.up, self.merge = nn.ModuleList(), nn.ModuleList()
        width = channels[-1]
        for out in reversed(channels[:-1]):
            self.up.append(nn.ConvTranspose2d(width, out, 2, stride=2))
            self.merge.append(block(2 * out, out))
            width = out
        self.head = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level in self.down:
            x = level(x)
            skips.append(x)
            x = F.max_pool2d(x, 2) if min(x.shape[-2:]) >= 2 else x
        x = self.bottom(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
            x = up(x)
            if x.shape[-2:] != skip.shape[-2:]:
                x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = merge(torch.cat([skip, x], dim=1))
        return self.head(x)


def unet(cfg, info: DataInfo) -> nn.Module:
    if not info.is_image:
        raise DlrunError(f"model=unet needs images (channels, height, width); this dataset gives {info.input_shape}.")
    return UNet(info.input_shape[0], info.num_outputs, list(cfg.channels), float(cfg.dropout))
