"""Pretrained weights for torchvision models: a weight enum (DEFAULT, IMAGENET1K_V2 ...)
read from torch.hub's cache (downloaded once when allowed), or a local .pth/.safetensors file."""

from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision import models as tvm

from dlrun.errors import DlrunError, did_you_mean
from dlrun.models.transfer import head_name

FILE_SUFFIXES = (".pth", ".pt", ".safetensors", ".bin")
AUX_PREFIXES = ("AuxLogits.", "aux1.", "aux2.")  # inception/googlenet training-time heads, not kept


def is_file_spec(spec) -> bool:
    return isinstance(spec, str) and ("/" in spec or spec.endswith(FILE_SUFFIXES))


def weight_enum(name: str, spec: str):
    """The torchvision weight enum member that `model.weights=spec` names."""
    if "." in spec:  # the full form: ResNet50_Weights.IMAGENET1K_V2
        try:
            return tvm.get_weight(spec)
        except (KeyError, ValueError, AttributeError) as err:
            raise DlrunError(f"model.weights={spec!r} is not a torchvision weight name ({err}).") from err
    enum = tvm.get_model_weights(name)
    valid = ["DEFAULT", *enum.__members__]
    if spec not in valid:
        raise DlrunError(
            f"model.weights={spec!r} is not a weight of {name}.{did_you_mean(spec, valid)}\n"
            f"Valid: {', '.join(valid)}, or the path of a .pth or .safetensors file."
        )
    return enum[spec]


def cached_file(enum) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(enum.url).path).name


def enum_state_dict(enum, download: bool) -> dict:
    """The enum's weights from torch.hub's cache; downloaded (hash-checked) when missing and allowed."""
    path = cached_file(enum)
    if path.is_file():
        return read_state_dict(path)
    where = (
        f"Put {path.name} (from {enum.url}) in {path.parent}; that folder is $TORCH_HOME/hub/checkpoints, "
        "by default ~/.cache/torch/hub/checkpoints."
    )
    if not download:
        raise DlrunError(f"Pretrained weights {enum} are not cached and model.download=false. {where}")
    try:
        return enum.get_state_dict(progress=True, check_hash=True)
    except Exception as err:  # no network, a proxy, a truncated download ...
        raise DlrunError(
            f"Pretrained weights {enum} could not be downloaded ({type(err).__name__}: {err}). {where}"
        ) from err


def read_state_dict(path: Path) -> dict:
    """A state dict from .safetensors, or from a torch file holding one (also inside a
    dlrun checkpoint or a {'state_dict': ...} dict), with DDP's 'module.' prefix removed."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DlrunError(f"model.weights={str(path)!r}: no such file (looked in {path.resolve()}).")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise DlrunError(f"{path} could not be read as weights ({type(err).__name__}: {err}).") from err
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise DlrunError(f"{path} holds no state dict (a mapping of parameter names to tensors).")
    for prefix in ("module.", "net."):  # DataParallel/DDP; a dlrun checkpoint of an adapted torchvision model
        if state and all(k.startswith(prefix) or k.startswith("adapter.") for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    return state


def pretrained_state(arch: str, spec, download: bool) -> tuple[dict, str]:
    """(state dict, where it came from) of `model.weights=spec`: a file, or a weight enum of
    `arch` (DEFAULT, IMAGENET1K_V2 ...) from torch.hub's cache."""
    if is_file_spec(spec):
        return read_state_dict(Path(spec)), spec
    enum = weight_enum(arch, str(spec))
    return enum_state_dict(enum, download), str(enum)


def load_into(
    net: nn.Module, state: dict, source: str, arch: str, heads: tuple[str, ...] = (), optional=AUX_PREFIXES
) -> list[str]:
    """Load `state` into `net`, leaving the layers sized to this dataset (`heads`: prefixes;
    by default the classifier's last layer) freshly initialised where the weights' have another
    size. Training-time heads (`optional` prefixes) the net was built without are left out.
    Returns the names of the skipped head tensors."""
    own = net.state_dict()
    head = heads or (head_name(net) + ".",)
    state = {k: v for k, v in state.items() if k in own or not k.startswith(optional)}
    skipped = [k for k in state if k.startswith(head) and (k not in own or state[k].shape != own[k].shape)]
    state = {k: v for k, v in state.items() if k not in skipped}
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in state
        if k in own and state[k].shape != own[k].shape
    ]
    missing = [k for k in own if k not in state and not k.startswith(head)]
    unexpected = [k for k in state if k not in own]
    if mismatched or missing or unexpected:
        details = "; ".join(
            part
            for part in (
                f"{len(mismatched)} of other shapes (e.g. {mismatched[0]})" if mismatched else "",
                f"{len(missing)} missing (e.g. {missing[0]})" if missing else "",
                f"{len(unexpected)} unexpected (e.g. {unexpected[0]})" if unexpected else "",
            )
            if part
        )
        raise DlrunError(
            f"The weights in {source} do not fit model={arch}: {details}. Are they weights of another architecture?"
        )
    net.load_state_dict(state, strict=False)
    return skipped


def backbone_weights(name: str, spec, load: bool, download: bool):
    """The backbone weight enum `model.weights_backbone=spec` names for the segmentation or detection
    model `name` (None for null); with `load`, checked to be in torch.hub's cache (downloaded when
    allowed), as the builder will read it from there."""
    if spec is None:
        return None
    enum = backbone_enum(name, str(spec))
    if load:
        enum_state_dict(enum, download)  # in torch.hub's cache, or a clear error
    return enum


def backbone_enum(name: str, spec: str):
    """The ImageNet weights of the model's backbone (ResNet50_Weights for deeplabv3_resnet50 ...),
    read from the builder's signature."""
    import inspect
    import typing

    hint = inspect.signature(tvm.get_model_builder(name)).parameters["weights_backbone"].annotation
    enum = next((a for a in typing.get_args(hint) if isinstance(a, type) and hasattr(a, "DEFAULT")), None)
    if enum is None:
        raise DlrunError(f"model={name}: its backbone's weights are not known to this torchvision.")
    valid = ["DEFAULT", *enum.__members__]
    if spec not in valid:
        raise DlrunError(
            f"model.weights_backbone={spec!r} is not a weight of {name}'s backbone ({enum.__name__}): "
            f"use {', '.join(valid)}."
        )
    return enum[spec]
