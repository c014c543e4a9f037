"""Losses from conf/loss/, wrapped so every loss takes (model outputs, dataset targets).

Datasets give class indices for classification and (N, K) floats for regression.
Class-index losses (cross entropy, NLL) take the indices as they are; value
losses (MSE, L1, Huber, BCE ...) get one-hot targets on a classification set.
"""

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import nn

from dlrun.datasets.info import CLASSIFICATION, DataInfo
from dlrun.errors import DlrunError, root_cause

CLASS_INDEX_LOSSES = (nn.CrossEntropyLoss, nn.NLLLoss)


class Criterion(nn.Module):
    def __init__(self, loss: nn.Module, info: DataInfo):
        super().__init__()
        self.loss = loss
        self.num_classes = info.num_classes
        self.takes_indices = isinstance(loss, CLASS_INDEX_LOSSES)
        self.log_probs = isinstance(loss, nn.NLLLoss)  # NLL expects log-probabilities
        # Regression: compare in units of the training targets' std, so the loss (and
        # its gradients) has the same scale for house prices as for z-scores.
        self.scaled = info.target_mean is not None
        if self.scaled:
            self.register_buffer("mean", torch.tensor(info.target_mean))
            self.register_buffer("std", torch.tensor(info.target_std))

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.log_probs:
            outputs = F.log_softmax(outputs, dim=1)
        if self.num_classes is not None and not self.takes_indices:
            targets = F.one_hot(targets, self.num_classes).to(outputs.dtype)  # (B,) -> (B, classes)
        if self.scaled:
            outputs, targets = (outputs - self.mean) / self.std, (targets - self.mean) / self.std
        return self.loss(outputs, targets)


def build_loss(cfg, info: DataInfo) -> Criterion:
    try:
        loss = instantiate(cfg)
    except Exception as err:
        raise DlrunError(f"The loss config could not be built: {root_cause(err)}") from err
    if isinstance(loss, CLASS_INDEX_LOSSES) and info.task != CLASSIFICATION:
        raise DlrunError(
            f"loss={type(loss).__name__} needs class labels, but this dataset is a {info.task} task. "
            "Use loss=mse, l1, smooth_l1 or huber."
        )
    return Criterion(loss, info)
