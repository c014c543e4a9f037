"""`model.grad_checkpointing=true`: activation checkpointing. A checkpointed block keeps only its
input in the forward pass and computes its activations again in the backward pass
(torch.utils.checkpoint, non-reentrant): less memory for more time (about one more forward).

  Hugging Face models  their own switch (gradient_checkpointing_enable, non-reentrant)
  every other model    its stages, found from its containers (timm's too: see below): each child that is a
                       block of its own in an nn.Sequential, nn.ModuleList or nn.ModuleDict
                       (a ResNet's bottlenecks, a ViT's encoder blocks, a Transformer's layers,
                       a MobileNet's inverted residuals) is checkpointed; an nn.Sequential of
                       plain layers (a VGG's features, dlrun's cnn) in about sqrt(n) segments

Only in training with gradients on: evaluation, export and serving run the model as it is.
The recomputation runs the block's BatchNorm layers a second time; their running statistics are
put back as the first pass left them, so a checkpointed run is the same run (the tests: equal
losses, running statistics and metrics). timm's own switch (set_grad_checkpointing) does not put
them back: after 5 steps of resnet10t its running means were up to 0.79 off an unchecked run's,
so timm's models are checkpointed here too, and take their own switch only where dlrun finds no
stages.
"""

import functools
import math
from contextlib import contextmanager, nullcontext

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def enable(model: nn.Module) -> str:
    """Turn activation checkpointing on; what was checkpointed, in words ("" when nothing)."""
    for module in model.modules():
        if hasattr(module, "gradient_checkpointing_enable") and getattr(module, "supports_gradient_checkpointing", 0):
            module.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            return "transformers' own (gradient_checkpointing_enable)"
    blocks, segmented = [], []
    find(model, blocks, segmented, root=True)
    if not blocks and not segmented:
        for module in model.modules():
            if hasattr(module, "set_grad_checkpointing"):  # a timm model whose stages dlrun did not find
                module.set_grad_checkpointing(True)
                return "timm's own (set_grad_checkpointing)"
        return ""
    for block in blocks:
        block.__class__ = checkpointed_class(type(block))
    for sequence in segmented:
        sequence.__class__ = segmented_class(type(sequence))
    parts = [f"{len(blocks)} blocks"] if blocks else []
    parts += [f"{len(segmented)} sequence{'s' * (len(segmented) > 1)} in segments"] if segmented else []
    return " and ".join(parts)


def find(module: nn.Module, blocks: list, segmented: list, root: bool = False) -> None:
    """The blocks to checkpoint under `module`: a container's children that have children of their
    own; a plain nn.Sequential of 4 or more layers: in segments; other modules: looked into."""
    children = list(module.children())
    if isinstance(module, CONTAINERS) or root:
        nested = [c for c in children if any(True for _ in c.children())]
        if isinstance(module, CONTAINERS) and nested:
            blocks.extend(nested)
            return
        if type(module) is nn.Sequential and not nested and len(children) >= 4:
            segmented.append(module)
            return
    for child in children:
        find(child, blocks, segmented)


@contextmanager
def norm_statistics_kept(block: nn.Module):
    """BatchNorm running statistics as they were before the recomputation (it would update them twice)."""
    norms = [m for m in block.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    saved = [[b.clone() for b in (m.running_mean, m.running_var, m.num_batches_tracked)] for m in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, (mean, var, count) in zip(norms, saved):
                m.running_mean.copy_(mean), m.running_var.copy_(var), m.num_batches_tracked.copy_(count)


def run_checkpointed(block: nn.Module, forward, *args, **kwargs):
    if not (block.training and torch.is_grad_enabled()):
        return forward(*args, **kwargs)
    return checkpoint(
        forward, *args, use_reentrant=False, context_fn=lambda: (nullcontext(), norm_statistics_kept(block)), **kwargs
    )


@functools.cache
def checkpointed_class(cls: type) -> type:
    """`cls` whose forward is checkpointed: the module keeps its name, state dict and everything else."""

    def forward(self, *args, **kwargs):
        return run_checkpointed(self, super(subclass, self).forward, *args, **kwargs)

    subclass = type(
        cls.__name__, (cls,), {"forward": forward, "__module__": cls.__module__, "__qualname__": cls.__qualname__}
    )
    return subclass


@functools.cache
def segmented_class(cls: type) -> type:
    """An nn.Sequential run in about sqrt(n) checkpointed segments (the last one as it is)."""

    def forward(self, x):
        layers = list(self)
        size = max(1, math.ceil(len(layers) / math.ceil(math.sqrt(len(layers)))))
        for start in range(0, len(layers), size):
            part = layers[start : start + size]
            run = functools.partial(run_layers, part)
            last = start + size >= len(layers)
            x = run(x) if last else run_checkpointed(self, run, x)
        return x

    return type(
        cls.__name__, (cls,), {"forward": forward, "__module__": cls.__module__, "__qualname__": cls.__qualname__}
    )


def run_layers(layers: list, x):
    for layer in layers:
        x = layer(x)
    return x
