"""What kind of thing a config's import path names, so that an optimizer given as the loss
(or a dataset as the scheduler) is refused by name before anything is built."""

from dlrun.config.imports import is_subclass
from dlrun.errors import DlrunError


def kinds() -> dict:
    from torch import nn
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
    from torch.utils.data import Dataset

    from dlrun.compat import loss_base

    return {
        "an optimizer": Optimizer,
        "a learning-rate scheduler": (LRScheduler, ReduceLROnPlateau),
        "a dataset": Dataset,
        "a loss": loss_base(),
        "a model or layer": nn.Module,
    }


def refuse_other_kinds(target, where: str, wanted: str, allowed) -> None:
    """Raise when `target` is a class of a known kind other than `allowed` (a base class)."""
    if is_subclass(target, allowed):
        return
    for name, base in kinds().items():
        if is_subclass(target, base):
            raise DlrunError(f"{where} is {name}, not {wanted}.")
