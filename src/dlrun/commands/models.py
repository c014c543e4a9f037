"""`dlrun models [PATTERN]`: every `model=` option, filtered by a wildcard, in natural order."""

import re
import sys
from fnmatch import fnmatch
from pathlib import Path

from rich.table import Table

from dlrun.config.tree import conf_dir
from dlrun.engine.console import table_console
from dlrun.models.catalog import (
    AUDIO_MODELS,
    BUILTIN_MODELS,
    TEXT_MODELS,
    TORCHVISION_CLASSIFIERS,
    TORCHVISION_DETECTORS,
    TORCHVISION_SEGMENTERS,
    USER_MODELS,
    tasks_of,
)
from dlrun.tasks import TASKS

HELP = (
    "list every model option (dlrun's own, your classes, torch.hub, torchvision's classifiers, segmenters, detectors)"
)

ABOUT = {
    "cnn": "conv blocks + 2x2 average pooling + linear head; model.channels, kernel_size, pooling, dropout",
    "mlp": "multilayer perceptron; model.hidden, activation, dropout, batch_norm",
    "linear": "one linear layer: linear or logistic regression",
    "unet": "a small U-Net for segmentation (task=segmentation); model.channels, dropout",
    "text_cnn": "text (dataset=text): embeddings + 1-D convolutions of several widths + max over time",
    "rnn": "text (dataset=text): embeddings + LSTM or GRU (model.cell, bidirectional, num_layers)",
    "transformer": "text (dataset=text): a small Transformer encoder; model.dim, heads, layers, pooling",
    "hf": "text (dataset=text): Hugging Face transformers, model.path=FOLDER or model.config={model_type: ...}",
    "audio_cnn": "audio waveforms (dataset.features=waveform): 1-D conv net (M5)",
    "custom": "your nn.Module: model.class_path=module.Class",
    "hub": "torch.hub entrypoint: model.repo, model.entrypoint",
    "timm": "any timm model: model.arch=NAME (dlrun models --source timm lists them)",
    "smp": "segmentation-models-pytorch: model.arch=Unet model.encoder=resnet18 (task=segmentation)",
}
FAMILIES = (
    "alexnet",
    "convnext",
    "densenet",
    "efficientnet_v2",
    "efficientnet",
    "googlenet",
    "inception",
    "maxvit",
    "mnasnet",
    "mobilenet_v2",
    "mobilenet_v3",
    "regnet",
    "resnext",
    "resnet",
    "shufflenet",
    "squeezenet",
    "swin_v2",
    "swin",
    "vgg",
    "vit",
    "wide_resnet",
)


def natural_key(name: str):
    """resnet18 < resnet50 < resnet101: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def family(name: str) -> str:
    return next((f for f in FAMILIES if name.startswith(f)), name)


def add_arguments(parser) -> None:
    parser.add_argument("pattern", nargs="?", default="*", help="only names matching this wildcard, e.g. 'resnet*'")
    parser.add_argument("--config-dir", "-cd", help="also list the model YAML files in this config directory")
    parser.add_argument("--task", choices=list(TASKS), help="only the models for this task, e.g. detection")
    parser.add_argument(
        "--source",
        choices=["dlrun", "timm"],
        default="dlrun",
        help="timm: list timm's architectures (model=timm model.arch=NAME) instead",
    )


def rows(config_dir: str | None) -> list[tuple[str, str, str, str]]:
    found = {name: ("dlrun", "", ABOUT[name]) for name in (*BUILTIN_MODELS, *TEXT_MODELS, *AUDIO_MODELS)}
    found["hf"] = ("transformers", "text", ABOUT["hf"])
    found.update({name: ("yours", "", ABOUT[name]) for name in USER_MODELS})
    found["timm"] = ("timm", "", ABOUT["timm"])
    found["smp"] = ("smp", "segmentation", ABOUT["smp"])
    found.update(
        {
            name: ("torchvision", family(name), "random init; model.weights=DEFAULT for pretrained")
            for name in TORCHVISION_CLASSIFIERS
        }
    )
    found.update(
        {
            name: ("torchvision", "segmentation", "task=segmentation; model.weights_backbone=DEFAULT for ImageNet")
            for name in TORCHVISION_SEGMENTERS
        }
    )
    found.update(
        {
            name: ("torchvision", "detection", "task=detection; model.weights_backbone=DEFAULT for ImageNet")
            for name in TORCHVISION_DETECTORS
        }
    )
    for root in [conf_dir()] + ([Path(config_dir)] if config_dir else []):
        for path in sorted((Path(root) / "model").glob("*.yaml")):
            if path.stem not in found:
                found[path.stem] = ("config", "", str(path))
    return [(name, *found[name]) for name in found]


def timm_rows(pattern: str) -> list[tuple[str, str, str, str]]:
    from dlrun.models.timm_models import import_timm

    timm = import_timm()
    pretrained = {name.split(".")[0] for name in timm.list_models(pattern, pretrained=True)}
    return [
        (
            f"model.arch={name}",
            "timm",
            name.split("_")[0],
            "model.weights=pretrained for timm's weights" if name in pretrained else "random init",
        )
        for name in timm.list_models(pattern)
    ]


def main(args) -> int:
    found = timm_rows(args.pattern) if args.source == "timm" else rows(args.config_dir)
    matches = sorted(
        (
            r
            for r in found
            if fnmatch(r[0].removeprefix("model.arch="), args.pattern)
            and (
                getattr(args, "task", None) is None
                or args.task in (tasks_of(r[0].removeprefix("model.arch=")) or TASKS)
            )
        ),
        key=lambda r: natural_key(r[0]),
    )
    if not matches:
        print(f"no model matches {args.pattern!r}; `dlrun models` lists them all", file=sys.stderr)
        return 1
    table = Table(title=f"{'model=timm model.arch' if args.source == 'timm' else 'model'}=... options ({len(matches)})")
    for column in ("name", "source", "family", "notes"):
        table.add_column(column, no_wrap=column != "notes")
    for row in matches:
        table.add_row(*row)
    console = table_console()
    console.print(table)
    return 0
