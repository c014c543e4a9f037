"""On a CUDA GPU: resnet18 on 32x32 synthetic images, bf16 autocast and channels_last, dlrun
against a hand-written loop with the same settings; samples/s, the ratio and peak GPU memory.

    .venv/bin/python bench/gpu.py                   # 10,000 images, 5 epochs, batch 256
    .venv/bin/python bench/gpu.py --device cpu --images 512 --epochs 2 --batch 64   # a smoke test

The images are written once as PNG files (10 classes, one folder each), so dlrun reads them
as a user's folder would be read: decoded once, held on the GPU and batched from there
(`loader.in_memory=auto`), or through torch's DataLoader with workers (`loader.in_memory=false`).
The hand-written loop holds the same decoded images as a tensor on the GPU, normalised, and
slices shuffled batches from it, training and validating on as many images as dlrun's split
gives (81 % / 9 %); both train the same network (bench/gpu_net.py). Throughput
is the median over epochs after the first (compilation and cuDNN autotuning warm-up), from
each epoch's training time (dlrun: metrics.csv `seconds`, which includes its validation pass;
the script times its validation pass too).
"""

import argparse
import csv
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DLRUN = str(Path(sys.executable).parent / "dlrun")


def write_images(root: Path, count: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(count):
        label = i % 10
        pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
        pixels[label * 3 : label * 3 + 3] = 255  # a class-dependent stripe: something to learn
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / str(label) / f"{i:05d}.png")


def split_sizes(n: int) -> tuple[int, int]:
    """(train, val) sample counts of dlrun's split with test_fraction=0.1, val_fraction=0.1."""
    rest = n - math.ceil(0.1 * n)
    return rest - math.ceil(0.1 * rest), math.ceil(0.1 * rest)


def hand_written(root: Path, args) -> dict:
    import torch
    from torchvision.datasets import ImageFolder
    from torchvision.transforms.v2.functional import pil_to_tensor

    sys.path.insert(0, str(BENCH))
    from gpu_net import ResNet18

    device = torch.device(args.device)
    folder = ImageFolder(str(root))
    x = torch.stack([pil_to_tensor(folder.loader(p)) for p, _ in folder.samples]).to(device).float() / 255
    x = (x - x.mean(dim=(0, 2, 3), keepdim=True)) / x.std(dim=(0, 2, 3), keepdim=True)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.tensor(folder.targets, device=device)
    n_train, n_val = split_sizes(len(x))  # as many samples as dlrun trains and validates on
    shuffled = torch.randperm(len(x), generator=torch.Generator().manual_seed(1)).to(device)
    x, y, x_val = x[shuffled[:n_train]], y[shuffled[:n_train]], x[shuffled[n_train : n_train + n_val]]
    model = ResNet18(num_classes=10).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    epochs = []
    for _ in range(args.epochs):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(x), generator=generator).to(device)
        for start in range(0, len(x), args.batch):
            batch = order[start : start + args.batch]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16):
                loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16):
            for start in range(0, len(x_val), args.batch):
                model(x_val[start : start + args.batch])
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        epochs.append(time.perf_counter() - started)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"epoch_s": statistics.median(epochs[1:] or epochs), "samples": len(x), "peak_mb": peak}


def dlrun(root: Path, args, in_memory: str, run_dir: Path) -> dict:
    command = [
        DLRUN,
        "dataset=image_folder",
        f"dataset.root={root}",
        "model=custom",
        "model.class_path=gpu_net.ResNet18",
        "optimizer=adamw",
        "lr=1e-3",
        f"epochs={args.epochs}",
        f"batch_size={args.batch}",
        "trainer.precision=bf16",
        "trainer.channels_last=true",
        f"trainer.device={args.device}",
        f"loader.in_memory={in_memory}",
        "logger=none",
        "trainer.progress=none",
        "dataset.val_fraction=0.1",
        "dataset.test_fraction=0.1",
        f"hydra.run.dir={run_dir}",
    ]
    subprocess.run(command, cwd=BENCH, check=True, capture_output=True)
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    summary = json.loads((run_dir / "summary.json").read_text())
    seconds = [float(r["seconds"]) for r in rows]
    return {
        "epoch_s": statistics.median(seconds[1:] or seconds),
        "samples": split_sizes(args.images)[0],
        "peak_mb": summary.get("peak_gpu_memory_mb"),
        "device": summary.get("device_name"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images"
        write_images(root, args.images)
        results = {
            "hand-written loop (tensors on the device)": hand_written(root, args),
            "dlrun, in memory (default)": dlrun(root, args, "auto", Path(tmp) / "a"),
            "dlrun, DataLoader": dlrun(root, args, "false", Path(tmp) / "b"),
        }
    device = results["dlrun, in memory (default)"]["device"]
    script = results["hand-written loop (tensors on the device)"]
    script_rate = script["samples"] / script["epoch_s"]
    print(f"resnet18, 32x32 images, bf16 autocast, channels_last, batch {args.batch}, on {device}:")
    print(f"{'':44} {'samples/s':>10} {'vs loop':>8} {'peak MB':>8}")
    for name, r in results.items():
        rate = r["samples"] / r["epoch_s"]
        peak = f"{r['peak_mb']:.0f}" if r["peak_mb"] else "-"
        print(f"{name:44} {rate:10.0f} {rate / script_rate:7.2f}x {peak:>8}")
    print(
        "(training samples per second of an epoch with its validation pass; both train and validate on "
        "the same numbers of images)"
    )


if __name__ == "__main__":
    main()
