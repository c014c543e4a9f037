"""Optimizer and learning-rate scheduler from conf/optimizer/ and conf/scheduler/."""

from hydra.utils import instantiate
from dlrun.errors import DlrunError, root_cause


def build_optimizer(cfg, params):
    """`params`: the model's parameters or parameter groups (see models.transfer.parameter_groups)."""
    try:
        return instantiate(cfg)(params)
    except Exception as err:
        raise DlrunError(f"The optimizer could not be built ({cfg._target_}): {root_cause(err)}") from err


def build_scheduler(cfg, optimizer):
    """None for `scheduler=none`; otherwise stepped once per epoch by the engine."""
    if cfg.get("_target_") is None:
        return None
    try:
        return instantiate(cfg)(optimizer)
    except Exception as err:
        raise DlrunError(f"The scheduler could not be built ({cfg._target_}): {root_cause(err)}") from err
