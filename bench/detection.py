"""dlrun against the hand-written torchvision loop (bench/detection_hand_written.py) on the same
detection data and settings: the generated shapes (255 training and 64 validation images of
128 px, 1-5 squares, circles and triangles each), fasterrcnn_mobilenet_v3_large_320_fpn from
random init with min_size = max_size = 128, SGD 0.01 (momentum 0.9, weight decay 1e-4), batch 8,
horizontal flips, 10 epochs. Whole processes, start-up included; prints the validation mAP@0.5
per epoch and the wall time of each.

    python bench/detection.py [--epochs 10] [--data /tmp/shapes_bench]
"""

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.tasks.detection_data import shapes  # noqa: E402


def data(root: Path) -> Path:
    if not (root / "train.json").is_file():
        shapes(root, 255, sizes=(128, 128), seed=1, name="train")
        shapes(root, 64, sizes=(128, 128), seed=2, name="val", start=255)
    return root


def timed(argv: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "shapes_bench")
    args = parser.parse_args()
    root = data(args.data)
    python, dlrun = sys.executable, str(Path(sys.executable).parent / "dlrun")
    hand_time, out = timed(
        [python, str(REPO / "bench" / "detection_hand_written.py"), "--root", str(root), "--epochs", str(args.epochs)],
        root,
    )
    hand = [float(v) for v in re.findall(r"mAP@0\.5 ([0-9.]+)", out)]
    run_dir = Path(tempfile.mkdtemp(prefix="dlrun_detection_"))
    dlrun_time, _ = timed(
        [
            dlrun,
            "task=detection",
            "dataset=coco",
            f"dataset.root={root}",
            "dataset.annotations=train.json",
            "dataset.val_annotations=val.json",
            "dataset.test_annotations=val.json",
            "model=fasterrcnn_mobilenet_v3_large_320_fpn",
            "model.kwargs={min_size:128,max_size:128}",
            "optimizer=sgd",
            "lr=0.01",
            "optimizer.weight_decay=1e-4",
            "optimizer.decay_norm_and_bias=true",  # weight decay on every parameter, as the hand-written loop
            "batch_size=8",
            f"epochs={args.epochs}",
            "logger=none",
            "trainer.progress=none",
            f"hydra.run.dir={run_dir}",
        ],
        root,
    )
    with open(run_dir / "metrics.csv") as f:
        ours = [float(row["val/map_50"]) for row in csv.DictReader(f)]
    print(f"{'epoch':>5} {'hand-written':>13} {'dlrun':>8}   (val mAP@0.5)")
    for epoch, (a, b) in enumerate(zip(hand, ours), 1):
        print(f"{epoch:>5} {a:>13.4f} {b:>8.4f}")
    print(f"best  {max(hand):>13.4f} {max(ours):>8.4f}")
    print(f"wall time: hand-written {hand_time:.0f} s, dlrun {dlrun_time:.0f} s (whole processes)")


if __name__ == "__main__":
    main()
