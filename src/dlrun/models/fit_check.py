"""Before training: one forward pass of two validation samples, so that a model whose layers do
not fit the data answers with what to change instead of a shape error from deep inside torch."""

import torch
from torch import nn

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError, first_line, out_of_memory

FIXES = {
    "resizable": "change the model's layers to take this input, or the input size with dataset.transforms.resize=[H, W]",
    "image": "change the model's layers to take images of this size",
    "table": "change the model's layers to take this many features",
}


def check_fits(model: nn.Module, data, info: DataInfo, model_cfg, device: torch.device, resizable: bool, collate=None):
    """Raise a DlrunError naming the model, the input it received and the data's shape when
    the model cannot take a batch of the data or returns the wrong number of outputs.
    Evaluation mode and no gradients; the random number generators are left as they were.
    Returns the (outputs, targets) of those samples, for the loss's own check. `collate`: how the
    data's samples make a batch (the loader's), where not stacked (detection's lists)."""
    name = model_name(model_cfg)
    from dlrun import tasks

    samples = [data[i] for i in range(min(2, len(data)))]
    if collate is not None and tasks.get(info.task).boxes:
        return check_detects(model, collate(samples), info, name, device)
    if collate is not None:  # the loader's own (text: padded ids and mask; torch's default stacks)
        batch, targets = (part.to(device) for part in collate(samples))
    else:
        batch = torch.stack([torch.as_tensor(x) for x, _ in samples]).to(device)
        targets = torch.stack([torch.as_tensor(y) for _, y in samples]).to(device)
    was_training = model.training
    fix = FIXES["table" if not info.is_image else "resizable" if resizable else "image"]
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        model.eval()
        try:
            out = model(batch)
        except (RuntimeError, ValueError, TypeError, IndexError) as err:
            if out_of_memory(err):
                raise  # not a shape problem: the CLI says how to use less memory
            raise DlrunError(
                f"{name} does not fit the data: given a batch of shape {tuple(batch.shape)} (samples "
                f"{info.input_shape}, {describe(info)}) its forward pass failed with "
                f"{type(err).__name__}: {first_line(err)}. To fix: {fix}."
            ) from err
        finally:
            model.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise DlrunError(
            f"{name} returned a {type(out).__name__}; dlrun's losses need one tensor of outputs, "
            f"shape (batch, {info.num_outputs})."
        )

    expected = tasks.get(info.task).output_shape(info)  # (outputs,), or (classes, H, W) per pixel
    per_sample = out.shape[1:].numel() if out.dim() > 1 else 1
    fits = tuple(out.shape[1:]) == expected if len(expected) > 1 else per_sample == info.num_outputs
    if out.shape[0] != len(batch) or not fits:
        raise DlrunError(
            f"{name} returned outputs of shape {tuple(out.shape)} for a batch of {len(batch)}; "
            f"this data needs {(len(batch), *expected)}: {describe(info)}. To fix: size "
            "the model's last layer from the data (a user model declaring num_classes / num_outputs "
            "as a parameter gets it from dlrun)."
        )
    return out, targets


def model_name(model_cfg) -> str:
    target = model_cfg.get("class_path") or model_cfg.get("entrypoint")
    return f"model={model_cfg.name}" + (f" ({target})" if target else "")


def describe(info: DataInfo) -> str:
    from dlrun import tasks

    return tasks.get(info.task).outputs_text(info.num_outputs)


def check_detects(model: nn.Module, batch, info: DataInfo, name: str, device: torch.device):
    """A detector's check: for a batch of images it returns, per image, boxes (n, 4), labels and
    scores (torchvision's detection models do; model=resnet18 and the like do not)."""
    inputs, targets = batch
    was_training = model.training
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        model.eval()
        try:
            out = model(inputs.to(device))
        except (RuntimeError, ValueError, TypeError, IndexError, AttributeError) as err:
            if out_of_memory(err):
                raise
            raise DlrunError(
                f"{name} cannot take a detection batch (a list of images of their own sizes): its forward pass "
                f"failed with {type(err).__name__}: {first_line(err)}. task=detection takes torchvision's "
                "detectors (`dlrun models --task detection`) or your model returning, per image, "
                '{"boxes", "labels", "scores"}.'
            ) from err
        finally:
            model.train(was_training)
    ok = isinstance(out, (list, tuple)) and len(out) == len(inputs)
    ok = ok and all(isinstance(o, dict) and {"boxes", "labels", "scores"} <= set(o) for o in out)
    if not ok or any(o["boxes"].dim() != 2 or o["boxes"].shape[-1] != 4 for o in out):
        got = type(out).__name__ if not isinstance(out, torch.Tensor) else f"a tensor of shape {tuple(out.shape)}"
        raise DlrunError(
            f"{name} returned {got} for a batch of {len(inputs)} images; task=detection needs, per image, "
            '{"boxes": (n, 4) x1 y1 x2 y2, "labels": (n,), "scores": (n,)}: use a detector '
            "(`dlrun models --task detection`)."
        )
    return out, targets
