"""Reading an image folder as files against reading it as shards, locally and over HTTP.

A folder of `--images` generated 64x64 JPEGs (10 classes) is read for one epoch of training
batches (64) with 2 DataLoader workers, decoded and turned into tensors, no model:
  files        torchvision's ImageFolder over the JPEG files (what a script does)
  shards       dlrun's training loader on `dlrun data convert`'s shards on this disk
  shards/http  the same shards from `python -m http.server` on 127.0.0.1
Samples per second, median of `--rounds` rounds, each side in turn.

    python bench/shards.py [--images 3000] [--rounds 3]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

DLRUN = str(Path(sys.executable).parent / "dlrun")


def make_folder(root: Path, images: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(images):
        folder = root / f"c{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((64, 64, 3)) * 60 + (i % 10) * 18).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:05d}.jpg", quality=90)


def files_epoch(root: Path) -> tuple[int, float]:
    import torchvision.datasets as tvd
    from torchvision.transforms import v2

    dataset = tvd.ImageFolder(str(root), transform=v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True, num_workers=2)
    return epoch(loader)


def shards_epoch(url: str) -> tuple[int, float]:
    from dlrun import datasets
    from dlrun.config.choices import compose

    cfg = compose(["dataset=shards", f"dataset.url={url}", "loader.num_workers=2", "logger=none"])
    loaders, _ = datasets.build(cfg.dataset, cfg.loader, seed=0, batch_size=64, device=torch.device("cpu"))
    return epoch(loaders["train"])


def epoch(loader) -> tuple[int, float]:
    started, seen = time.perf_counter(), 0
    for inputs, _ in loader:
        seen += len(inputs)
    return seen, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_folder(root / "images", args.images)
        made = subprocess.run(
            [DLRUN, "data", "convert", "dataset=image_folder", "dataset.root=images", "dataset.val_fraction=0.01",
             "dataset.test_fraction=0.01", "--output", "shards"],
            cwd=root, capture_output=True, text=True,
        )  # fmt: skip
        if made.returncode:
            sys.exit(made.stderr[-3000:])
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", "8765", "--bind", "127.0.0.1"],
            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
        sides = {
            "files (ImageFolder, 2 workers)": lambda: files_epoch(root / "images"),
            "shards on this disk (2 workers)": lambda: shards_epoch(str(root / "shards")),
            "shards over HTTP, 127.0.0.1 (2 workers)": lambda: shards_epoch("http://127.0.0.1:8765/shards"),
        }
        rates = {name: [] for name in sides}
        try:
            for _ in range(args.rounds):
                for name, read in sides.items():
                    seen, seconds = read()
                    rates[name].append(seen / seconds)
        finally:
            server.terminate()
    print(f"one training epoch of {args.images} 64x64 JPEGs, batches of 64, median of {args.rounds} rounds\n")
    print("| read as | samples/s |\n|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {statistics.median(values):,.0f} |")


if __name__ == "__main__":
    main()
