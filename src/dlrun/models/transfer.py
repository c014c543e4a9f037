"""Transfer learning: find a network's head, replace it, freeze the rest, and give the
backbone its own learning rate.

The head is the last layer that produces the logits: the last nn.Linear (or, for
SqueezeNet, the last nn.Conv2d) in module order, which holds for every torchvision
classifier and for the usual hand-written network.
"""

from dataclasses import dataclass

from torch import nn

from dlrun.compat import batch_and_instance_norm_bases
from dlrun.errors import DlrunError, plural


def head_name(model: nn.Module) -> str:
    """Dotted name of the layer producing the outputs, e.g. 'fc', 'classifier.6', 'heads.head'."""
    name = None
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            name = module_name
    if name is None:  # no linear layer at all: a fully convolutional classifier (SqueezeNet)
        for module_name, module in model.named_modules():
            if isinstance(module, nn.Conv2d):
                name = module_name
    if name is None:
        raise DlrunError(f"{type(model).__name__} has no Linear or Conv2d layer to use as its head.")
    return name


def replace_head(model: nn.Module, num_outputs: int) -> str | None:
    """Swap the head for a freshly initialised layer with `num_outputs` outputs; returns what
    was replaced (`fc: Linear 512 -> 1000 replaced by Linear 512 -> 10`), None when it fitted."""
    name = head_name(model)
    parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
    old = model.get_submodule(name)
    if isinstance(old, nn.Linear):
        if old.out_features == num_outputs:
            return None
        new = nn.Linear(old.in_features, num_outputs, bias=old.bias is not None)
        sizes = (old.in_features, old.out_features)
    else:
        if old.out_channels == num_outputs:
            return None
        new = nn.Conv2d(old.in_channels, num_outputs, old.kernel_size, old.stride, old.padding)
        sizes = (old.in_channels, old.out_channels)
    setattr(parent, name.rpartition(".")[2], new)
    kind = type(old).__name__
    return f"{name}: {kind} {sizes[0]} -> {sizes[1]} replaced by a new {kind} {sizes[0]} -> {num_outputs}"


def weights_head_left_out(model: str, head: str, num_outputs: int) -> str:
    """What a run says when pretrained weights' head did not fit the data and a new one replaced it."""
    return (
        f"model {model}: the weights' {head} was left out; a new one gives this data's {plural(num_outputs, 'output')}"
    )


def output_size(model: nn.Module) -> int:
    head = model.get_submodule(head_name(model))
    return head.out_features if isinstance(head, nn.Linear) else head.out_channels


def split_parameters(model: nn.Module) -> tuple[list, list]:
    """(new parameters: head and input adapter, backbone parameters). A model that names its
    backbone (`backbone_prefix`: a detector's feature extractor) splits there: everything else,
    a detector's proposal network and heads, is new."""
    declared = getattr(model, "backbone_prefix", None)
    if declared:
        new, backbone = [], []
        for name, param in model.named_parameters():
            (backbone if name.startswith(declared) else new).append(param)
        return new, backbone
    adapters = [name + "." for name, module in model.named_modules() if type(module).__name__ == "InputAdapter"]
    new_prefixes = (head_name(model) + ".", *adapters)
    new, backbone = [], []
    for name, param in model.named_parameters():
        (new if name.startswith(new_prefixes) else backbone).append(param)
    return new, backbone


@dataclass
class Frozen:
    """A frozen backbone: its parameters get no gradients and its normalisation layers keep
    their running statistics (eval mode) until `until_epoch`, when both train again."""

    params: list
    norms: list
    until_epoch: int | None = None

    def hold(self, epoch: int, say) -> None:
        """Call right after model.train() each epoch."""
        if self.until_epoch is not None and epoch >= self.until_epoch:
            for param in self.params:  # also after a resume past that epoch
                param.requires_grad_(True)
            if epoch == self.until_epoch:
                say(f"epoch {epoch}: the backbone is unfrozen and trains from now on")
            return
        for module in self.norms:
            module.eval()


def freeze_backbone(model: nn.Module, how, until_epoch: int | None = None) -> Frozen | None:
    """Apply `model.freeze`: None when nothing is frozen."""
    if how in (None, "none"):
        return None
    new, backbone = split_parameters(model)
    for param in backbone:
        param.requires_grad_(False)
    new_ids = {id(p) for p in new}
    batch_norm = batch_and_instance_norm_bases()[0]
    norms = [
        m for m in model.modules() if isinstance(m, batch_norm) and not any(id(p) in new_ids for p in m.parameters())
    ]
    return Frozen(backbone, norms, until_epoch)


def parameter_groups(model: nn.Module, backbone_lr) -> list[dict] | list:
    """All parameters, frozen ones included (so unfreezing later needs no new optimizer);
    two groups when the backbone has its own learning rate."""
    if backbone_lr is None:
        return list(model.parameters())
    new, backbone = split_parameters(model)
    return [{"params": new}, {"params": backbone, "lr": float(backbone_lr)}]
