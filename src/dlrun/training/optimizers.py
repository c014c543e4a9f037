"""The optimizer from conf/optimizer/, or the user's own (schedules: dlrun.training.schedulers).

`optimizer=custom`: `class_path` names a torch.optim.Optimizer subclass, called as
`Class(parameter_groups, lr=lr, **kwargs)`; `optimizer._target_=...` (Hydra's form) is
called with the parameter groups and its sibling keys.

`optimizer.decay_norm_and_bias=false` (the reference recipes' choice, and dlrun's default):
normalisation layers' parameters and every bias get no weight decay, as torchvision's
`set_weight_decay(norm_weight_decay=0)` and timm's `param_groups_weight_decay` do."""

from dlrun.config import plain
from dlrun.config.imports import build, named
from dlrun.errors import DlrunError
from dlrun.training.kinds import refuse_other_kinds

WANTED = "an optimizer (a torch.optim.Optimizer subclass, called with the parameter groups and lr)"


def build_optimizer(cfg, params, model=None):
    """`params`: the model's parameters or parameter groups (see models.transfer.parameter_groups);
    `model`: whose normalisation layers and biases `decay_norm_and_bias=false` exempts."""
    from torch.optim import Optimizer

    spec = dict(plain(cfg))
    decay_all = spec.pop("decay_norm_and_bias", True)  # absent in configs saved before the key: decay all
    decay = spec.get("weight_decay", (spec.get("kwargs") or {}).get("weight_decay"))
    if not decay_all and model is not None and decay != 0:  # no decay at all: nothing to exempt, one group
        params = without_decay_on_norm_and_bias(model, params)
    target, where = named(spec, "optimizer")
    refuse_other_kinds(target, where, WANTED, allowed=Optimizer)
    extra = {"lr": spec["lr"]} if spec.get("class_path") is not None and "lr" in spec else {}
    optimizer = build(spec, "optimizer", list(params), **extra)
    if not isinstance(optimizer, Optimizer):
        raise DlrunError(f"{where} built a {type(optimizer).__name__}, not {WANTED}.")
    return optimizer


def without_decay_on_norm_and_bias(model, params) -> list[dict]:
    """`params` (parameters or groups) with each group split in two: the normalisation layers'
    parameters and the biases in a group of its own with weight_decay 0."""
    from torch import nn

    from dlrun.compat import batch_and_instance_norm_bases

    norms = (
        *batch_and_instance_norm_bases(),
        nn.LayerNorm,
        nn.GroupNorm,
        nn.LocalResponseNorm,
        *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
    )
    exempt = {
        id(p)
        for module in model.modules()
        for name, p in module.named_parameters(recurse=False)
        if isinstance(module, norms) or name == "bias"
    }
    groups = list(params)
    if groups and not isinstance(groups[0], dict):
        groups = [{"params": groups}]
    split = []
    for group in groups:
        members = list(group["params"])
        decayed = [p for p in members if id(p) not in exempt]
        kept = [p for p in members if id(p) in exempt]
        options = {k: v for k, v in group.items() if k != "params"}
        split += [{**options, "params": decayed}, {**options, "params": kept, "weight_decay": 0.0}]
    return [group for group in split if group["params"]]
