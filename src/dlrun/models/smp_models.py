"""`model=smp`: segmentation-models-pytorch's architectures (Unet, Unet++, FPN, DeepLabV3+,
SegFormer ...) with any of its encoders, sized to the data's channels and classes. An optional
dependency (pip install 'dlrun[smp]'), imported only when such a model is built.

`model.encoder_weights` (null by default: random init) names the encoder's pretrained weights
(imagenet ...); smp fetches them from the Hugging Face hub or its cache, so offline they must be
cached already. Most architectures need the image sides to be multiples of 32 (2 ** depth)."""

from omegaconf import OmegaConf
from torch import nn

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError, did_you_mean, first_line


def import_smp():
    try:
        import segmentation_models_pytorch as smp
    except ImportError as err:
        raise DlrunError(
            f"model=smp needs segmentation-models-pytorch ({err}): pip install 'dlrun[smp]' "
            "(or pip install segmentation-models-pytorch)."
        ) from err
    return smp


def build(cfg, info: DataInfo, load_weights: bool = True, say=None) -> nn.Module:
    if not info.is_image or info.task != "segmentation":
        raise DlrunError(
            f"model=smp segments images (task=segmentation, e.g. dataset=segmentation_folder); this data is "
            f"{info.task} with inputs {info.input_shape}."
        )
    smp = import_smp()
    arch, encoder = str(cfg.arch), str(cfg.encoder)
    architectures = sorted(smp.MODEL_ARCHITECTURES_MAPPING)
    if arch.lower() not in architectures:
        raise DlrunError(
            f"model.arch={arch!r} is not an smp architecture.{did_you_mean(arch.lower(), architectures)} "
            f"Architectures: {', '.join(architectures)}."
        )
    encoders = smp.encoders.get_encoder_names()
    if encoder not in encoders:
        raise DlrunError(
            f"model.encoder={encoder!r} is not an smp encoder.{did_you_mean(encoder, encoders)} "
            "`python -c 'import segmentation_models_pytorch as s; print(s.encoders.get_encoder_names())'` lists them."
        )
    extra = OmegaConf.to_container(cfg.kwargs, resolve=True) if cfg.get("kwargs") is not None else {}
    weights = cfg.get("encoder_weights") if load_weights else None
    try:
        return smp.create_model(
            arch,
            encoder_name=encoder,
            encoder_weights=weights,
            in_channels=info.input_shape[0],
            classes=info.num_outputs,
            **extra,
        )
    except (TypeError, ValueError, KeyError) as err:
        raise DlrunError(f"model=smp ({arch}, {encoder}) could not be built: {first_line(err)}") from err
    except OSError as err:  # the encoder's weights: not cached and no network
        raise DlrunError(
            f"model=smp: the encoder weights {weights!r} of {encoder} could not be read ({first_line(err)}); "
            "offline they must be in the Hugging Face cache already, or use model.encoder_weights=null."
        ) from err
