"""The names `model=` accepts, importable without torch (the CLI checks choices with it).

TORCHVISION_CLASSIFIERS mirrors torchvision.models.list_models(module=torchvision.models)
for torchvision 0.29. tests/models/test_models.py fails when a name here is not in the
installed torchvision, and warns (naming them) when torchvision lists classifiers that are
not offered here yet, so a new release is noticed without failing the suite."""

BUILTIN_MODELS = ("cnn", "linear", "mlp", "unet")
TEXT_MODELS = ("text_cnn", "rnn", "transformer", "hf")  # take token ids (dataset=text); hf: Hugging Face transformers
AUDIO_MODELS = ("audio_cnn",)  # takes waveforms (dataset.features=waveform)
USER_MODELS = ("custom", "hub")  # model=custom (your class), model=hub (torch.hub)

# torchvision.models.list_models(module=torchvision.models.segmentation), for torchvision 0.29
TORCHVISION_SEGMENTERS = (
    "deeplabv3_mobilenet_v3_large",
    "deeplabv3_resnet101",
    "deeplabv3_resnet50",
    "fcn_resnet101",
    "fcn_resnet50",
    "lraspp_mobilenet_v3_large",
)

# torchvision.models.list_models(module=torchvision.models.detection) that give boxes (not masks or keypoints)
TORCHVISION_DETECTORS = (
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_resnet50_fpn_v2",
    "fcos_resnet50_fpn",
    "retinanet_resnet50_fpn",
    "retinanet_resnet50_fpn_v2",
    "ssd300_vgg16",
    "ssdlite320_mobilenet_v3_large",
)

TORCHVISION_CLASSIFIERS = (
    "alexnet",
    "convnext_base",
    "convnext_large",
    "convnext_small",
    "convnext_tiny",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2_l",
    "efficientnet_v2_m",
    "efficientnet_v2_s",
    "googlenet",
    "inception_v3",
    "maxvit_t",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "regnet_x_16gf",
    "regnet_x_1_6gf",
    "regnet_x_32gf",
    "regnet_x_3_2gf",
    "regnet_x_400mf",
    "regnet_x_800mf",
    "regnet_x_8gf",
    "regnet_y_128gf",
    "regnet_y_16gf",
    "regnet_y_1_6gf",
    "regnet_y_32gf",
    "regnet_y_3_2gf",
    "regnet_y_400mf",
    "regnet_y_800mf",
    "regnet_y_8gf",
    "resnet101",
    "resnet152",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "resnext50_32x4d",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
    "squeezenet1_0",
    "squeezenet1_1",
    "swin_b",
    "swin_s",
    "swin_t",
    "swin_v2_b",
    "swin_v2_s",
    "swin_v2_t",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "vit_b_16",
    "vit_b_32",
    "vit_h_14",
    "vit_l_16",
    "vit_l_32",
    "wide_resnet101_2",
    "wide_resnet50_2",
)


PER_SAMPLE = ("classification", "regression", "multilabel")  # models with an output vector per sample


def tasks_of(name: str) -> tuple[str, ...] | None:
    """The tasks a model= option serves (`dlrun models --task detection`, the config checks);
    None for yours (model=custom, hub, a YAML of your own): they may serve any."""
    if name in TORCHVISION_DETECTORS:
        return ("detection",)
    if name in TORCHVISION_SEGMENTERS or name in ("unet", "smp"):
        return ("segmentation",)
    if name in (*BUILTIN_MODELS, *TEXT_MODELS, *AUDIO_MODELS, *TORCHVISION_CLASSIFIERS, "timm"):
        return PER_SAMPLE
    return None
