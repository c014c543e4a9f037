"""torchvision's object detectors by name (Faster R-CNN, RetinaNet, FCOS, SSD, SSDlite), their class
heads sized to the data's classes plus torchvision's background class.

Weights come from torch.hub's cache as the classifiers' do (downloaded when allowed):
`model.weights_backbone=DEFAULT` (or IMAGENET1K_V1 ...) builds the detector as torchvision does
with an ImageNet backbone (frozen BatchNorm, the first layers frozen: trainable_backbone_layers
in model.kwargs); `model.weights=DEFAULT` (COCO_V1, or a .pth/.safetensors file) loads the whole
detector, its class layers started afresh where the classes differ (BatchNorm frozen as in
torchvision's pretrained detectors). `model.kwargs` reach the detector's constructor: min_size,
max_size, box_score_thresh, box_detections_per_img, score_thresh, nms_thresh ...

The detector sees dlrun's class indices 0 .. K-1 as torchvision's labels 1 .. K (0 is its
background); `Detector` shifts them both ways, so the rest of dlrun never sees the background.
"""

import torch
from omegaconf import OmegaConf
from torch import nn
from torchvision import models as tvm
from torchvision.ops.misc import FrozenBatchNorm2d

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError
from dlrun.models import weights
from dlrun.models.transfer import weights_head_left_out

# what torchvision's builders do with pretrained weights: BatchNorm frozen in the backbone
FROZEN_NORM_WHEN_PRETRAINED = (
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "retinanet_resnet50_fpn",
    "fcos_resnet50_fpn",
)
FAMILIES = {  # prefix -> (the class layers sized to the classes, the loss parts it returns in training)
    "fasterrcnn": (
        ("roi_heads.box_predictor.",),
        ("loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"),
    ),
    "retinanet": (("head.classification_head.cls_logits.",), ("loss_classification", "loss_bbox_regression")),
    "fcos": (
        ("head.classification_head.cls_logits.",),
        ("loss_classification", "loss_bbox_regression", "loss_bbox_ctrness"),
    ),
    "ssd": (("head.classification_head.",), ("loss_bbox_regression", "loss_classification")),
}


def family(name: str) -> tuple:
    return next(value for prefix, value in FAMILIES.items() if name.startswith(prefix))


class Detector(nn.Module):
    """A torchvision detector taking a batch of images (dlrun.datasets.detection.samples.ImageBatch,
    a list of (3, H, W) images, or a (B, 3, H, W) tensor): in training with the batch's targets,
    returning its loss dictionary; in evaluation returning per image {"boxes", "labels", "scores"},
    each image detected on its own."""

    def __init__(self, net: nn.Module, loss_names: tuple[str, ...]):
        super().__init__()
        self.net, self.loss_names = net, loss_names
        # model.freeze=backbone and model.backbone_lr: the feature extractor (an FPN's body), not the heads
        body = getattr(getattr(net, "backbone", None), "body", None)
        self.backbone_prefix = "net.backbone.body." if body is not None else "net.backbone."

    def forward(self, inputs):
        images = list(getattr(inputs, "images", inputs))
        if self.training:
            targets = [{"boxes": t["boxes"], "labels": t["labels"] + 1} for t in inputs.targets]
            return self.net(images, targets)
        # One image at a time: torchvision pads a batch to its largest image and ranks the proposals
        # of the padding too, so an image's boxes would depend on the other images of its batch. Alone,
        # they are the same for any batch size and any number of processes (and as `predict` gives them).
        found = [detected for image in images for detected in self.net([image])]
        return [{"boxes": d["boxes"], "labels": d["labels"] - 1, "scores": d["scores"]} for d in found]


class ScriptedDetector(nn.Module):
    """What `dlrun export --format torchscript` scripts: images in, per image {"boxes", "labels"
    (dlrun's class indices), "scores"} out; loads with torch.jit.load, without dlrun or torchvision's
    Python code. (torch.export cannot take these detectors: their box decoding and NMS have
    data-dependent shapes.)"""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        detections = self.net(images)[1]  # scripted, torchvision's detectors return (losses, detections)
        return [{"boxes": d["boxes"], "labels": d["labels"] - 1, "scores": d["scores"]} for d in detections]


def scripted(detector: Detector):
    """The detector scripted (torch.jit.script) for use without dlrun, in evaluation mode."""
    import warnings

    with warnings.catch_warnings():  # TorchScript's deprecation, and "RCNN always returns a (Losses, Detections) tuple"
        warnings.simplefilter("ignore")
        return torch.jit.script(ScriptedDetector(detector.net).eval())


def wrapped(model: nn.Module) -> nn.Module:
    """Your model for task=detection: a torchvision detector you built (FasterRCNN, RetinaNet, FCOS or
    SSD with your backbone, anchors ..., num_classes = classes + 1 for torchvision's background) is
    wrapped as dlrun's own are; anything else is taken as is (it takes dlrun's image batches and
    returns its losses in training, per image {"boxes", "labels" 0 .. K-1, "scores"} in evaluation)."""
    from torchvision.models.detection import FCOS, RetinaNet
    from torchvision.models.detection.generalized_rcnn import GeneralizedRCNN
    from torchvision.models.detection.ssd import SSD

    kinds = ((GeneralizedRCNN, "fasterrcnn"), (RetinaNet, "retinanet"), (FCOS, "fcos"), (SSD, "ssd"))
    kind = next((name for cls, name in kinds if isinstance(model, cls)), None)
    return Detector(model, FAMILIES[kind][1]) if kind else model


def build(cfg, info: DataInfo, load_weights: bool = True, say=None) -> nn.Module:
    name = cfg.name
    if info.task != "detection":
        raise DlrunError(
            f"model={name} detects objects (task=detection, e.g. dataset=coco or dataset=yolo); this data is "
            f"{info.task} with inputs {info.input_shape}."
        )
    extra = OmegaConf.to_container(cfg.kwargs, resolve=True) if cfg.get("kwargs") is not None else {}
    spec, backbone = cfg.get("weights"), cfg.get("weights_backbone")
    enum = weights.backbone_weights(name, backbone if spec is None else None, load_weights, cfg.get("download", True))
    try:
        net = tvm.get_model(
            name,
            weights=None,
            weights_backbone=enum if load_weights else None,
            num_classes=info.num_outputs + 1,  # torchvision's class 0 is the background
            **extra,
        )
    except (TypeError, ValueError) as err:
        raise DlrunError(f"model={name} does not take model.kwargs={extra}: {err}.") from err
    pretrained = spec is not None or backbone is not None
    if pretrained and not (enum is not None and load_weights) and name in FROZEN_NORM_WHEN_PRETRAINED:
        freeze_norms(net.backbone)  # the architecture torchvision builds around pretrained weights
    heads, loss_names = family(name)
    if spec is not None and load_weights:
        state, source = weights.pretrained_state(name, spec, cfg.get("download", True))
        replaced = weights.load_into(net, state, source, name, heads=heads, optional=())
        if replaced and say is not None:
            old = state[replaced[0]].shape[0]
            say(weights_head_left_out(name, f"class layer ({old} outputs)", info.num_outputs))
    return Detector(net, loss_names)


def freeze_norms(module: nn.Module) -> None:
    """Every BatchNorm2d under `module` replaced by torchvision's FrozenBatchNorm2d (fixed statistics
    and affine parameters), as torchvision's builders make pretrained detectors' backbones."""
    for child_name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            with torch.no_grad():
                frozen.weight.copy_(child.weight)
                frozen.bias.copy_(child.bias)
                frozen.running_mean.copy_(child.running_mean)
                frozen.running_var.copy_(child.running_var)
            setattr(module, child_name, frozen)
        else:
            freeze_norms(child)
