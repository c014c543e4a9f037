"""Losses from conf/loss/ or the user's own, wrapped so every loss takes (model outputs, dataset targets).

Datasets give class indices for classification and (N, K) floats for regression.
torch's class-index losses (cross entropy, NLL) take the indices as they are; torch's
value losses (MSE, L1, Huber, BCE ...) get one-hot targets on a classification set. A
loss of the user's own (`loss=custom`, or any `_target_`/`class_path` outside torch.nn)
gets exactly what the model and the dataset give:
    classification: outputs (B, classes) float logits, targets (B,) int64 class indices
    regression:     outputs and targets (B, K) float, both in units of the training
                    targets' standard deviation (z-scores), so every loss sees one scale
    multilabel:     outputs (B, labels) logits, targets (B, labels) 0/1 floats
    segmentation:   outputs (B, classes, H, W) logits, targets (B, H, W) int64 class indices,
                    -100 where the pixel is ignored (torch's ignore_index)
    detection:      the detector's loss dictionary in training (summed by loss=detection), its
                    detections in evaluation; targets a list of {"boxes", "labels"} per image
and returns a scalar tensor.
"""

import inspect

import torch
import torch.nn.functional as F
from torch import nn

from dlrun import tasks
from dlrun.checks.parts import class_loss_on_values
from dlrun.config import plain
from dlrun.config.imports import build, named, target_of
from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError, first_line
from dlrun.training.kinds import refuse_other_kinds

CLASS_INDEX_LOSSES = (nn.CrossEntropyLoss, nn.NLLLoss)
AUX_WEIGHT = 0.5  # the auxiliary head's share of the loss (torchvision's segmentation reference recipe)


class Criterion(nn.Module):
    def __init__(self, loss: nn.Module, info: DataInfo):
        super().__init__()
        self.loss = loss
        self.num_classes = info.num_classes
        # torch's value losses compare with one-hot rows; the user's own loss gets the indices
        self.takes_indices = isinstance(loss, CLASS_INDEX_LOSSES) or not torch_loss(loss)
        self.log_probs = isinstance(loss, nn.NLLLoss)  # NLL expects log-probabilities
        # Regression: compare in units of the training targets' std, so the loss (and
        # its gradients) has the same scale for house prices as for z-scores.
        self.scaled = info.target_mean is not None
        if self.scaled:
            self.register_buffer("mean", torch.tensor(info.target_mean))
            self.register_buffer("std", torch.tensor(info.target_std))

    @property
    def parts(self) -> dict | None:
        """The last call's loss components, where the loss has several (a detector's), else None."""
        return getattr(self.loss, "parts", None)

    def forward(self, outputs, targets):
        if isinstance(outputs, dict) and "out" in outputs:  # a segmentation model's auxiliary head, in training
            return self(outputs["out"], targets) + AUX_WEIGHT * self(outputs["aux"], targets)
        if not isinstance(outputs, torch.Tensor):  # a detector's losses (training) or detections: its own loss
            return self.loss(outputs, targets)
        if self.log_probs:
            outputs = F.log_softmax(outputs, dim=1)
        if self.num_classes is not None and not self.takes_indices and targets.dim() == 1:
            targets = F.one_hot(targets, self.num_classes).to(outputs.dtype)  # (B,) -> (B, classes)
        # (B, classes) targets are already probabilities: MixUp / CutMix (dlrun.datasets.batch_mix)
        if self.scaled:
            outputs, targets = (outputs - self.mean) / self.std, (targets - self.mean) / self.std
        return self.loss(outputs, targets)


def torch_loss(loss) -> bool:
    return type(loss).__module__.startswith("torch.nn")


def build_loss(cfg, info: DataInfo) -> Criterion:
    """The loss `cfg` names (a conf/loss/ option, `loss=custom`, or `loss._target_=...`), wrapped."""
    spec = dict(plain(cfg))
    target, where = named(spec, "loss")
    refuse_other_kinds(
        target, where, "a loss: an nn.Module (or a function) called with (outputs, targets)", allowed=nn.Module
    )
    loss = build(spec, "loss", partial=not inspect.isclass(target))  # a function gets its options bound
    if not callable(loss):
        raise DlrunError(
            f"{where} built a {type(loss).__name__}, which cannot be called with (outputs, targets): "
            "a loss is an nn.Module or a function."
        )
    if isinstance(loss, CLASS_INDEX_LOSSES) and not tasks.get(info.task).takes_class_indices:
        raise DlrunError(class_loss_on_values(type(loss).__name__, info.task))
    return Criterion(loss, info)


def check_loss(criterion: Criterion, outputs, targets, loss_cfg) -> None:
    """The loss on the two samples the model check ran (no gradients): a loss that fails on
    the data's outputs and targets, or does not return one number, is named before training."""
    where = "=".join(target_of(plain(loss_cfg), "loss"))
    if not isinstance(outputs, torch.Tensor):
        return  # a detector's detections: its losses come in training (checked by the first step)
    shapes = (
        f"outputs {tuple(outputs.shape)} {str(outputs.dtype).replace('torch.', '')}, targets "
        f"{tuple(targets.shape)} {str(targets.dtype).replace('torch.', '')}"
    )
    with torch.no_grad():
        try:
            value = criterion(outputs, targets)
        except Exception as err:
            raise DlrunError(
                f"{where} failed on a batch of {shapes} with {type(err).__name__}: {first_line(err)}. "
                "A loss is called as loss(outputs, targets) with these shapes (see `dlrun --help` "
                "and the README, 'Your own pieces')."
            ) from err
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or not value.is_floating_point():
        got = f"a tensor of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
        raise DlrunError(
            f"{where} returned {got} for {shapes}; a loss returns one floating-point number "
            "(a 0-dim tensor: reduce with .mean())."
        )
