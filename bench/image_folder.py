"""Small images from a folder of PNG files against the same images held in memory.

    .venv/bin/python bench/image_folder.py              # 5 alternating pairs
    .venv/bin/python bench/image_folder.py --pairs 9

The folder is 900 of scikit-learn's digits, scaled to 16x16 and written as PNG files, one
subfolder per class: `dlrun dataset=image_folder dataset.root=DIR model=cnn epochs=8`, as a
new user would type it. The in-memory side is a `dataset=custom` Dataset holding the very
same decoded images as uint8 tensors (no DataLoader workers). Both are whole `dlrun`
processes, paired and alternating; the medians of the whole process, of an epoch
(metrics.csv) and the final validation accuracy are printed.
"""

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

DLRUN = str(Path(sys.executable).parent / "dlrun")
IN_MEMORY = '''
import torch
from torch.utils.data import Dataset


class Digits16(Dataset):
    """The PNG folder's images, decoded beforehand (uint8, 3x16x16) and held in memory."""

    def __init__(self, path):
        data = torch.load(path)
        self.images, self.targets, self.classes = data["images"], data["targets"], data["classes"]

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.images[i], self.targets[i]
'''


def make_data(folder: Path) -> None:
    import numpy as np
    import torch
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    picks = np.random.default_rng(0).choice(len(digits.target), size=900, replace=False)
    images, targets = [], []
    for n, i in enumerate(sorted(picks)):
        pixels = (digits.images[i] * (255 / 16)).astype(np.uint8)
        image = Image.fromarray(pixels, mode="L").resize((16, 16), Image.BILINEAR)
        (folder / "pngs" / str(digits.target[i])).mkdir(parents=True, exist_ok=True)
        image.save(folder / "pngs" / str(digits.target[i]) / f"{n:04d}.png")
    from torchvision.datasets import ImageFolder  # the order and RGB conversion dlrun's folders use

    for path, target in ImageFolder(str(folder / "pngs")).samples:
        rgb = np.array(Image.open(path).convert("RGB"), dtype=np.uint8)
        images.append(torch.from_numpy(rgb).permute(2, 0, 1).contiguous())
        targets.append(target)
    torch.save(
        {"images": torch.stack(images), "targets": targets, "classes": [str(c) for c in range(10)]},
        folder / "digits16.pt",
    )
    (folder / "digits16.py").write_text(textwrap.dedent(IN_MEMORY))


def train(folder: Path, overrides: list[str], name: str) -> tuple[float, float, float]:
    run_dir = folder / "runs" / name
    command = [
        DLRUN,
        *overrides,
        "model=cnn",
        "epochs=8",
        "logger=none",
        "trainer.progress=none",
        f"hydra.run.dir={run_dir}",
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    return seconds, statistics.median(float(r["seconds"]) for r in rows), float(rows[-1]["val/acc"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    sides = {
        "image_folder (PNG files)": lambda f: ["dataset=image_folder", f"dataset.root={f / 'pngs'}"],
        "in memory (dataset=custom)": lambda f: [
            "dataset=custom",
            "dataset.class_path=digits16.Digits16",
            f"dataset.kwargs={{path: {f / 'digits16.pt'}}}",
            "dataset.transforms.normalize=dataset",
            "loader.num_workers=0",
        ],
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_data(folder)
        results = {name: [] for name in sides}
        for pair in range(args.pairs):
            for name, overrides in sides.items():
                results[name].append(train(folder, overrides(folder), f"{pair}-{name.split()[0]}"))
    print(f"900 16x16 PNG digits, model=cnn epochs=8, {args.pairs} pairs, medians:")
    print(f"{'':28} {'whole process':>14} {'epoch':>8} {'val/acc (last epoch)':>22}")
    for name, runs in results.items():
        whole, epoch, acc = (statistics.median(r[k] for r in runs) for k in range(3))
        print(f"{name:28} {whole:12.2f} s {epoch:6.3f} s {acc:22.4f}")


if __name__ == "__main__":
    main()
