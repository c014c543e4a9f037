"""The optimizer from conf/optimizer/, or the user's own (schedules: dlrun.training.schedulers).

`optimizer=custom`: `class_path` names a torch.optim.Optimizer subclass, called as
`Class(parameter_groups, lr=lr, **kwargs)`; `optimizer._target_=...` (Hydra's form) is
called with the parameter groups and its sibling keys."""

from omegaconf import OmegaConf

from dlrun.config.imports import build, load_target, target_of
from dlrun.errors import DlrunError
from dlrun.training.kinds import refuse_other_kinds

WANTED = "an optimizer (a torch.optim.Optimizer subclass, called with the parameter groups and lr)"


def build_optimizer(cfg, params):
    """`params`: the model's parameters or parameter groups (see models.transfer.parameter_groups)."""
    from torch.optim import Optimizer

    spec = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    target = load_target(spec, "optimizer")
    where = "=".join(target_of(spec, "optimizer"))
    refuse_other_kinds(target, where, WANTED, allowed=Optimizer)
    extra = {"lr": spec["lr"]} if spec.get("class_path") is not None and "lr" in spec else {}
    optimizer = build(spec, "optimizer", list(params), **extra)
    if not isinstance(optimizer, Optimizer):
        raise DlrunError(f"{where} built a {type(optimizer).__name__}, not {WANTED}.")
    return optimizer
