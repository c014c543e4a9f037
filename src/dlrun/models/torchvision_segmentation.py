"""torchvision's semantic segmentation models by name (FCN, DeepLabV3, LR-ASPP), their heads
sized to the data's classes, with the auxiliary head and loss where the model has one (dlrun.training.losses adds it).

The backbone's ImageNet weights (`model.weights_backbone=DEFAULT` or IMAGENET1K_V1 ...), or the
whole model's (`model.weights=DEFAULT`: COCO_WITH_VOC_LABELS_V1, its 21-class last layers replaced
for other classes; or a .pth/.safetensors file) come from torch.hub's cache as the classifiers'
do (downloaded when allowed). In training, a model
with an auxiliary head returns {"out", "aux"} and the loss adds 0.5 x the auxiliary loss
(torchvision's reference recipe); in evaluation it returns the (batch, classes, H, W) logits.
"""

import torch
from omegaconf import OmegaConf
from torch import nn
from torchvision import models as tvm

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError
from dlrun.models import weights
from dlrun.models.torchvision_models import InputAdapter
from dlrun.models.transfer import weights_head_left_out

HAS_AUX = ("fcn_", "deeplabv3_")  # LR-ASPP has no auxiliary head
HEADS = ("classifier.", "aux_classifier.")  # sized to the classes: start afresh where pretrained ones differ


class Segmenter(nn.Module):
    def __init__(self, adapter: InputAdapter, net: nn.Module):
        super().__init__()
        self.adapter, self.net = adapter, net

    def forward(self, x: torch.Tensor):
        out = self.net(self.adapter(x))
        if self.training and "aux" in out:
            return {"out": out["out"], "aux": out["aux"]}
        return out["out"]


def build(cfg, info: DataInfo, load_weights: bool = True, say=None) -> nn.Module:
    name = cfg.name
    if not info.is_image or info.task != "segmentation":
        raise DlrunError(
            f"model={name} segments images (task=segmentation, e.g. dataset=segmentation_folder); this data is "
            f"{info.task} with inputs {info.input_shape}."
        )
    aux = bool(cfg.get("aux_loss", True)) and name.startswith(HAS_AUX)
    extra = OmegaConf.to_container(cfg.kwargs, resolve=True) if cfg.get("kwargs") is not None else {}
    enum = weights.backbone_weights(name, cfg.get("weights_backbone"), load_weights, cfg.get("download", True))
    try:
        net = tvm.get_model(
            name,
            weights=None,
            weights_backbone=enum if load_weights else None,
            num_classes=info.num_outputs,
            **({"aux_loss": aux} if name.startswith(HAS_AUX) else {}),
            **extra,
        )
    except TypeError as err:
        raise DlrunError(f"model={name} does not take model.kwargs={extra}: {err}.") from err
    spec = cfg.get("weights")
    if spec is not None and load_weights:  # the whole model's (COCO_WITH_VOC_LABELS_V1: 21 VOC classes, or a file)
        state, source = weights.pretrained_state(name, spec, cfg.get("download", True))
        replaced = weights.load_into(net, state, source, name, heads=HEADS, optional=("aux_classifier.",))
        if replaced and say is not None:
            old = state[replaced[0]].shape[0]
            say(weights_head_left_out(name, f"classifier's last layer ({old} classes)", info.num_outputs))
    return Segmenter(InputAdapter(info.input_shape[0], None), net)
