"""The user's own pieces, as a file in their working directory (my_pieces.py in the tests)."""

PIECES = '''
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

CALLS = {"loss": 0, "transform": 0}


class Focal(nn.Module):
    """Focal loss (Lin et al. 2017); gamma=0 is cross entropy."""

    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, outputs, targets):
        CALLS["loss"] += 1
        log_p = F.log_softmax(outputs, -1).gather(1, targets[:, None]).squeeze(1)
        return (-(1 - log_p.exp()) ** self.gamma * log_p).mean()


class PlainSGD(torch.optim.Optimizer):
    """SGD without momentum, written out."""

    def __init__(self, params, lr, scale=1.0):
        super().__init__(params, {"lr": lr, "scale": scale})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"] * group["scale"])


class Halve(LRScheduler):
    """Halve the learning rate every `every` steps of the schedule."""

    def __init__(self, optimizer, every=1, last_epoch=-1):
        self.every = every
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * 0.5 ** (self.last_epoch // self.every) for base in self.base_lrs]


class Invert:
    """An image transform: 1 - x."""

    def __call__(self, image):
        CALLS["transform"] += 1
        return 1 - image


def brier(outputs, targets):
    p = outputs.softmax(-1)
    return ((p - F.one_hot(targets, p.shape[-1])) ** 2).sum(-1).mean()


brier.higher_is_better = False
'''
