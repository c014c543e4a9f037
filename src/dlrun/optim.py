"""The optimizer from conf/optimizer/ (schedules: dlrun.schedulers)."""

from hydra.utils import instantiate
from dlrun.errors import DlrunError, root_cause


def build_optimizer(cfg, params):
    """`params`: the model's parameters or parameter groups (see models.transfer.parameter_groups)."""
    try:
        return instantiate(cfg)(params)
    except Exception as err:
        raise DlrunError(f"The optimizer could not be built ({cfg._target_}): {root_cause(err)}") from err
