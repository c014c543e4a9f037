"""The loss of task=detection: what the detector itself computes. torchvision's detection models
return their loss dictionary in training (Faster R-CNN: loss_classifier, loss_box_reg,
loss_objectness, loss_rpn_box_reg; RetinaNet: classification, bbox_regression; FCOS adds
bbox_ctrness; SSD: bbox_regression, classification); the step's loss is their sum, each part
times its weight. The parts of the last call are kept (`parts`) for the loop to log per epoch.
In evaluation the detector returns detections and no losses: the loss is then None."""

import torch
from torch import nn


class DetectorLosses(nn.Module):
    def __init__(self, weights: dict | None = None):
        super().__init__()
        self.weights = {part_name(k): float(v) for k, v in (weights or {}).items()}
        self.parts: dict[str, torch.Tensor] | None = None

    def forward(self, outputs, targets=None):
        if not isinstance(outputs, dict):  # detections (evaluation): no loss to compute
            self.parts = None
            return None
        self.parts = {part_name(name): value.detach() for name, value in outputs.items()}
        return sum(self.weights.get(part_name(name), 1.0) * value for name, value in outputs.items())


def part_name(name: str) -> str:
    """loss_classifier stays; RetinaNet's `classification` becomes loss_classification (train/loss_...)."""
    return name if name.startswith("loss_") else f"loss_{name}"
