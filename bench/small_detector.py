"""A small Faster R-CNN from torchvision's own classes, for the generated shapes on a CPU: a plain
8-layer CNN backbone (stride 16), square anchors of 16-64 px, a 256-wide box head, fewer proposals
and sampled boxes than the COCO defaults. What bench/detection.py --small trains through
`model=custom model.class_path=small_detector.small_faster_rcnn` (run from bench/); dlrun wraps
it as its own detectors (num_classes: the data's classes, + 1 for torchvision's background)."""

from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign


def conv(cin, cout, stride=1):
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def small_faster_rcnn(num_classes: int, width: int = 32, size: int = 128):
    backbone = nn.Sequential(
        *conv(3, width, 2),
        *conv(width, width),  # 1/2
        *conv(width, 2 * width, 2),
        *conv(2 * width, 2 * width),  # 1/4
        *conv(2 * width, 4 * width, 2),
        *conv(4 * width, 4 * width),  # 1/8
        *conv(4 * width, 4 * width, 2),
        *conv(4 * width, 4 * width),  # 1/16
    )
    backbone.out_channels = 4 * width
    anchors = AnchorGenerator(sizes=((16, 24, 32, 48, 64),), aspect_ratios=((1.0,),))
    return FasterRCNN(
        backbone,
        min_size=size,
        max_size=size,
        rpn_anchor_generator=anchors,
        box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2),
        box_head=TwoMLPHead(4 * width * 49, 256),
        box_predictor=FastRCNNPredictor(256, num_classes + 1),
        rpn_pre_nms_top_n_train=600,
        rpn_post_nms_top_n_train=300,
        rpn_pre_nms_top_n_test=300,
        rpn_post_nms_top_n_test=100,
        box_batch_size_per_image=128,
    )
