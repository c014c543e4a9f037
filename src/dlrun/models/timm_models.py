"""`model=timm model.arch=NAME`: any of timm's image models (`timm.list_models()`), its head
sized to the data, its first convolution to the data's channels (timm's `in_chans`), and
small images upsampled to the smallest size the architecture takes. Weights: none, a local
file (timm adapts its channels and drops a head of another size), or timm's own pretrained
weights (`model.weights=pretrained`, from its cache; fetched only with `model.download=true`).
timm is an extra: `pip install 'dlrun[timm]'`."""

import os
from pathlib import Path

from torch import nn

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError, did_you_mean, first_line
from dlrun.models.transfer import weights_head_left_out

TRIAL_SIZES = (32, 64, 128, 224)  # tried in turn when the architecture does not take the data's own size


def import_timm():
    try:
        import timm
    except ImportError as err:
        raise DlrunError(
            "model=timm needs timm, an optional dependency: pip install 'dlrun[timm]' (or pip install timm)."
        ) from err
    return timm


def check_arch(timm, arch) -> str:
    if not isinstance(arch, str) or arch not in timm.list_models():
        names = timm.list_models()
        raise DlrunError(
            f"model.arch={arch!r} is not a timm model.{did_you_mean(str(arch), names)} "
            "`dlrun models --source timm 'convnext*'` lists them."
        )
    return arch


def build(cfg, info: DataInfo, load_weights: bool = True, say=None) -> nn.Module:
    timm = import_timm()
    arch = check_arch(timm, cfg.get("arch"))
    if not info.is_image:
        raise DlrunError(
            f"model=timm needs image input (channels, height, width); this dataset gives "
            f"{info.input_shape}. Use model=mlp for tabular data."
        )
    channels, height, width = info.input_shape
    spec = cfg.get("weights") if load_weights else None
    kwargs = dict(cfg.get("kwargs") or {})
    net = create(
        timm, arch, spec, bool(cfg.get("download", False)), num_classes=info.num_outputs, in_chans=channels, **kwargs
    )
    trained_for = (getattr(net, "pretrained_cfg", None) or {}).get("num_classes") if spec == "pretrained" else None
    if say is not None and trained_for and trained_for != info.num_outputs:
        say(weights_head_left_out(f"timm {arch}", f"classifier ({trained_for} classes)", info.num_outputs))
    size = None
    if not takes(net, channels, height, width):
        size = next(((s, s) for s in TRIAL_SIZES if s >= max(height, width) and takes(net, channels, s, s)), None)
        if size is None:
            raise DlrunError(
                f"model.arch={arch} does not take {height}x{width} images, nor any size up to "
                f"{TRIAL_SIZES[-1]}: choose another architecture or set dataset.transforms.resize."
            )
    return nn.Sequential(nn.Upsample(size=size, mode="bilinear", align_corners=False), net) if size else net


def create(timm, arch: str, spec, download: bool, **kwargs) -> nn.Module:
    if spec is None:
        return timm.create_model(arch, pretrained=False, **kwargs)
    if spec == "pretrained":
        if not download:
            os.environ["HF_HUB_OFFLINE"] = "1"  # timm's cache only
        try:
            return timm.create_model(arch, pretrained=True, **kwargs)
        except Exception as err:
            raise DlrunError(
                f"timm's pretrained weights for {arch} could not be loaded ({type(err).__name__}: "
                f"{first_line(err)[:200]}). They come from timm's cache (the Hugging Face "
                "hub cache); set model.download=true to fetch them, or give a file: "
                "model.weights=path/to/weights.pth"
            ) from err
    path = Path(str(spec)).expanduser()
    if not path.is_file():
        raise DlrunError(
            f"model.weights={spec!r}: no such file (looked in {path.resolve()}). Use null, "
            "pretrained (timm's cache) or a .pth / .safetensors file."
        )
    try:
        return timm.create_model(arch, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **kwargs)
    except Exception as err:
        raise DlrunError(
            f"The weights in {path} do not fit model.arch={arch} ({type(err).__name__}: {first_line(err)[:300]})."
        ) from err


def takes(net: nn.Module, channels: int, height: int, width: int) -> bool:
    """Whether the randomly initialised net runs on images of this size (timm's ViTs assert
    their fixed input size, convolutions raise a RuntimeError on maps that shrink to nothing)."""
    import torch

    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(torch.zeros(2, channels, height, width))
        return True
    except (RuntimeError, AssertionError, ValueError):
        return False
    finally:
        net.train(was_training)


def preprocessing(cfg) -> dict | None:
    """The resize, crop and normalisation timm's pretrained weights expect (resolve_data_config);
    None without weights. A local file is taken to be trained like the architecture's default."""
    if cfg.get("weights") is None:
        return None
    timm = import_timm()
    from timm.data import resolve_data_config

    pretrained = timm.models.get_pretrained_cfg(check_arch(timm, cfg.get("arch")))
    data = resolve_data_config({}, pretrained_cfg=pretrained.to_dict() if pretrained else {})
    crop = int(data["input_size"][-1])
    return {
        "resize": int(round(crop / data.get("crop_pct", 0.875))),
        "random_crop": crop,
        "normalize": {"mean": list(data["mean"]), "std": list(data["std"])},
    }
