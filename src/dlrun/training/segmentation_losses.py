"""Segmentation losses beyond cross entropy (`loss=dice`, `loss=ce_dice`): logits (B, C, H, W)
against class-index masks (B, H, W) in which -100 marks ignored pixels (they count nowhere).

Dice is the soft Dice loss of V-Net (Milletari et al., 2016): 1 - mean over classes of
(2 sum p*t + s) / (sum p + sum t + s) with p the softmax probabilities, t the one-hot target
and s a smoothing term; classes absent from both batch and prediction score 1 (no loss).
"""

import torch
import torch.nn.functional as F
from torch import nn

IGNORED = -100


class DiceLoss(nn.Module):
    def __init__(self, smooth: float = 1.0):
        super().__init__()
        self.smooth = float(smooth)

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        classes = outputs.shape[1]
        kept = (targets != IGNORED).unsqueeze(1)  # (B, 1, H, W)
        probabilities = outputs.float().softmax(1) * kept
        one_hot = F.one_hot(targets.clamp(min=0), classes).permute(0, 3, 1, 2).float() * kept
        dims = (0, 2, 3)
        overlap = (probabilities * one_hot).sum(dims)
        total = probabilities.sum(dims) + one_hot.sum(dims)
        return 1 - ((2 * overlap + self.smooth) / (total + self.smooth)).mean()


class CrossEntropyDice(nn.Module):
    """Cross entropy (ignored pixels left out) + dice_weight x Dice."""

    def __init__(self, dice_weight: float = 1.0, smooth: float = 1.0, label_smoothing: float = 0.0):
        super().__init__()
        self.cross_entropy = nn.CrossEntropyLoss(ignore_index=IGNORED, label_smoothing=label_smoothing)
        self.dice, self.dice_weight = DiceLoss(smooth), float(dice_weight)

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.cross_entropy(outputs, targets) + self.dice_weight * self.dice(outputs, targets)
