"""Every torchvision classification model by name, fitted to the dataset.

The head is sized to the dataset's outputs (`num_classes=`), and an adapter in
front maps the dataset's images to what the architecture accepts: channels to
three, and the image up to the smallest size the architecture can take.
"""

import math

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import nn
from torchvision import models as tvm

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError
from dlrun.models import weights
from dlrun.models.transfer import weights_head_left_out

# Architectures that take the input size as a constructor argument (their
# position embeddings are sized to it): multiple of the patch size.
_PATCH = {"vit_b_16": 16, "vit_b_32": 32, "vit_l_16": 16, "vit_l_32": 32, "vit_h_14": 14}


class InputAdapter(nn.Module):
    """(B, C, H, W) -> (B, 3, H', W'): repeat a grey channel (or mix C channels with a
    1x1 conv), then upsample bilinearly when the image is below the model's minimum."""

    def __init__(self, in_channels: int, size: tuple[int, int] | None):
        super().__init__()
        self.mix = None if in_channels in (1, 3) else nn.Conv2d(in_channels, 3, kernel_size=1)
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mix is not None:
            x = self.mix(x)
        elif x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.size is not None:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return x


class AdaptedClassifier(nn.Module):
    def __init__(self, adapter: InputAdapter, net: nn.Module):
        super().__init__()
        self.adapter = adapter
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(self.adapter(x))
        return out.logits if hasattr(out, "logits") else out  # inception/googlenet named tuples


def build(cfg, info: DataInfo, load_weights: bool = True, say=None) -> nn.Module:
    """The architecture `cfg.name`, with `cfg.weights` loaded when given (and `load_weights`;
    rebuilding for a checkpoint skips them). Pretrained nets keep their input size (ViT: 224)."""
    name = cfg.name
    if not info.is_image:
        raise DlrunError(
            f"model={name} needs image input (channels, height, width); this dataset gives {info.input_shape}. "
            "Use model=mlp for tabular data."
        )
    channels, height, width = info.input_shape
    spec = cfg.get("weights")
    kwargs = {"num_classes": info.num_outputs}
    if name in ("inception_v3", "googlenet"):
        kwargs.update(aux_logits=False, init_weights=True)
    if name in _PATCH and spec is None:
        patch = _PATCH[name]
        kwargs["image_size"] = patch * max(1, math.ceil(max(height, width) / patch))
    extra = OmegaConf.to_container(cfg.kwargs, resolve=True) if cfg.get("kwargs") is not None else {}
    if not isinstance(extra, dict):
        raise DlrunError(
            f"model.kwargs={extra!r} is not valid: use {{name: value}}, e.g. {{stochastic_depth_prob: 0.2}}."
        )
    try:  # e.g. stochastic_depth_prob (EfficientNet, ConvNeXt, Swin, MaxViT), dropout
        net = tvm.get_model(name, weights=None, **kwargs, **extra)
    except TypeError as err:
        raise DlrunError(f"model={name} does not take model.kwargs={extra}: {err}.") from err
    if spec is not None and load_weights:
        state, source = weights.pretrained_state(name, spec, cfg.get("download", True))
        skipped = weights.load_into(net, state, source, name)
        if skipped and say is not None:
            old = state[skipped[0]].shape[0]
            say(weights_head_left_out(name, f"head ({weights.head_name(net)}, {old} outputs)", info.num_outputs))
    if name in _PATCH:
        size = (net.image_size,) * 2 if (height, width) != (net.image_size,) * 2 else None
    else:
        size = None if _accepts(net, info.input_shape) else _minimum_size(name, height, width)
    return AdaptedClassifier(InputAdapter(channels, size), net)


def preprocessing(cfg) -> dict | None:
    """The resize, crop and normalisation the weight enum was trained with (None for files)."""
    spec = cfg.get("weights")
    if spec is None or weights.is_file_spec(spec):
        return None
    preset = weights.weight_enum(cfg.name, spec).transforms()
    return {
        "resize": int(preset.resize_size[0]),
        "random_crop": int(preset.crop_size[0]),
        "normalize": {"mean": list(preset.mean), "std": list(preset.std)},
    }


def _accepts(net: nn.Module, input_shape) -> bool:
    """Whether the randomly initialised net runs on the dataset's own image size."""
    probe = torch.zeros(2, 3, *input_shape[1:])
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(probe)
        return True
    except RuntimeError:
        return False
    finally:
        net.train(was_training)


def _minimum_size(name: str, height: int, width: int) -> tuple[int, int]:
    """torchvision's recorded minimum input size for the architecture."""
    min_h, min_w = next(iter(tvm.get_model_weights(name))).meta["min_size"]
    return max(height, min_h), max(width, min_w)
