"""Which architectures `dlrun export --format onnx` takes: each model as dlrun builds it (random
weights, 10 classes, 3x64x64 inputs; segmenters 3x64x64 with 4 classes), exported the way the
command does (torch.export with a dynamic batch, then torch's ONNX exporter) and checked with
onnxruntime against eager PyTorch at batch 1 and 8 (max abs difference). Prints a Markdown table.

    python bench/onnx_survey.py [NAME ...]      (default: a spread of torchvision and timm models)
"""

import sys
import tempfile
import time
from pathlib import Path

import torch

from dlrun import models
from dlrun.commands.export import export_program
from dlrun.config.choices import compose
from dlrun.datasets.info import DataInfo
from dlrun.errors import first_line
from dlrun.runs.onnx_format import check_parity, write_onnx

CLASSIFIERS = [
    "resnet50", "mobilenet_v3_small", "efficientnet_b0", "convnext_tiny", "regnet_y_400mf", "densenet121",
    "squeezenet1_0", "shufflenet_v2_x0_5", "mnasnet0_5", "vit_b_16", "swin_t", "maxvit_t", "googlenet",
]  # fmt: skip
TIMM = ["timm:resnet10t", "timm:convnext_atto", "timm:efficientnet_b0", "timm:vit_tiny_patch16_224"]
SEGMENTERS = ["fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large", "unet"]


def build(name: str):
    if name.startswith("timm:"):
        overrides = ["model=timm", f"model.arch={name[5:]}"]
    else:
        overrides = [f"model={name}"]
    segmenter = name in SEGMENTERS
    cfg = compose([*overrides, "logger=none", *(["task=segmentation"] if segmenter else [])])
    info = DataInfo(
        task="segmentation" if segmenter else "classification",
        num_outputs=4 if segmenter else 10,
        input_shape=(3, 64, 64),
        class_names=tuple(str(i) for i in range(4 if segmenter else 10)),
    )
    return models.build(cfg.model, info, load_weights=False).eval()


def survey(name: str, folder: Path) -> tuple[str, str]:
    started = time.perf_counter()
    try:
        model = build(name)
        example = (torch.zeros(2, 3, 64, 64),)
        with torch.no_grad():
            program, _ = export_program(model, example)
            write_onnx(program, folder / f"{name.replace(':', '_')}.onnx", ["inputs"])
            samples = (torch.randn(8, 3, 64, 64, generator=torch.Generator().manual_seed(0)),)
            differences = check_parity(folder / f"{name.replace(':', '_')}.onnx", model, samples)
    except Exception as err:
        return "no", f"{type(err).__name__}: {first_line(err)[:120]}"
    worst = max(d for d, _ in differences.values())
    verdict = "yes" if worst <= 1e-4 else "differs"
    return verdict, f"max abs {worst:.1e} ({time.perf_counter() - started:.0f} s)"


def main() -> None:
    names = sys.argv[1:] or [*CLASSIFIERS, *TIMM, *SEGMENTERS]
    print("| model | ONNX | check |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            verdict, detail = survey(name, Path(tmp))
            print(f"| {name} | {verdict} | {detail} |", flush=True)


if __name__ == "__main__":
    main()
