"""The network both sides of bench/gpu.py train: torchvision's resnet18 with a 10-class head."""

from torch import nn


def ResNet18(num_classes: int = 10) -> nn.Module:  # noqa: N802 (named like the class it stands for)
    from torchvision.models import resnet18

    return resnet18(num_classes=num_classes)
