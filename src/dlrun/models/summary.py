"""What a model is, for `dlrun summary`: its layers with their output shapes for the data's
input, its parameters, FLOPs per sample (torch.utils.flop_counter, which counts a
multiply-add as 2 FLOPs) and the memory a training step needs at a batch size.

The activation estimate is the sum of the outputs of the model's leaf modules for one sample,
times the batch size: what autograd keeps for the backward pass, give or take the few
operations that keep their inputs as well or nothing (in-place ReLUs).
"""

from dataclasses import dataclass, field

import torch
from torch import nn

# Optimizer state per parameter, in parameter-sized tensors: SGD with momentum 1, Adam's two moments
OPTIMIZER_STATES = {"sgd": 1, "adam": 2, "adamw": 2, "rmsprop": 1, "adagrad": 1, "lion": 1}


@dataclass
class Layer:
    name: str
    kind: str
    shape: str
    parameters: int
    depth: int


@dataclass
class Summary:
    layers: list[Layer] = field(default_factory=list)
    total: int = 0
    trainable: int = 0
    flops_per_sample: float = 0.0
    activation_bytes_per_sample: float = 0.0
    parameter_bytes: int = 0


def summarize(model: nn.Module, inputs, samples: int, depth: int = 2) -> Summary:
    """`inputs`: a batch of `samples` as the model takes it (a tensor, a TextBatch, a list of
    images); the model is run on it in eval mode, under no_grad, twice (shapes, FLOPs)."""
    from torch.utils.flop_counter import FlopCounterMode

    found = Summary(
        total=sum(p.numel() for p in model.parameters()),
        trainable=sum(p.numel() for p in model.parameters() if p.requires_grad),
        parameter_bytes=sum(p.numel() * p.element_size() for p in model.parameters()),
    )
    shapes, leaf_bytes, hooks = {}, [0], []
    for name, module in model.named_modules():
        level = name.count(".") + 1 if name else 0
        leaf = not any(True for _ in module.children())
        if level <= depth or leaf:
            hooks.append(module.register_forward_hook(recorder(name, level <= depth, leaf, shapes, leaf_bytes)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(inputs)
        for hook in hooks:
            hook.remove()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(inputs)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    found.flops_per_sample = counter.get_total_flops() / samples
    found.activation_bytes_per_sample = leaf_bytes[0] / samples
    for name, module in model.named_modules():  # in the model's order, a module before its children
        if name not in shapes:
            continue
        shape, level = shapes[name]
        found.layers.append(
            Layer(name or "(model)", type(module).__name__, shape, sum(p.numel() for p in module.parameters()), level)
        )
    return found


def recorder(name: str, shown: bool, leaf: bool, shapes: dict, leaf_bytes: list):
    def hook(module, args, output):
        tensors = list(flat_tensors(output))
        if leaf:
            leaf_bytes[0] += sum(t.numel() * t.element_size() for t in tensors)
        if shown and name not in shapes:
            shapes[name] = (describe(output, tensors), name.count(".") + 1 if name else 0)

    return hook


def flat_tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from flat_tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from flat_tensors(item)
    elif hasattr(value, "__dataclass_fields__") or hasattr(value, "to_tuple"):  # HF ModelOutput ...
        for item in getattr(value, "to_tuple", lambda: vars(value).values())():
            yield from flat_tensors(item)


def describe(output, tensors: list) -> str:
    """An output's shape with the batch dimension as B: [B, 64, 8, 8]; several: the first, +n."""
    if not tensors:
        return "-"
    shape = "[B, " + ", ".join(str(d) for d in tensors[0].shape[1:]) + "]" if tensors[0].dim() else "[]"
    return shape + (f" +{len(tensors) - 1}" if len(tensors) > 1 else "")


def training_memory(found: Summary, batch_size: int, optimizer: str) -> dict[str, float]:
    """Bytes a training step holds: weights, gradients, the optimizer's state, activations."""
    states = OPTIMIZER_STATES.get(optimizer, 2)
    trainable_bytes = found.parameter_bytes * (found.trainable / max(1, found.total))
    return {
        "parameters": found.parameter_bytes,
        "gradients": trainable_bytes,
        f"optimizer state ({optimizer})": trainable_bytes * states,
        f"activations at batch {batch_size} (estimate)": found.activation_bytes_per_sample * batch_size,
    }
