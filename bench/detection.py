"""dlrun against the hand-written torchvision loop (bench/detection_hand_written.py) on the same
detection data and settings: the generated shapes (255 training and 64 validation images of
128 px, 1-5 squares, circles and triangles each), fasterrcnn_mobilenet_v3_large_320_fpn from
random init with min_size = max_size = 128, SGD 0.01 (momentum 0.9, weight decay 1e-4), batch 8,
horizontal flips, 10 epochs. Whole processes, start-up included; prints the validation mAP@0.5
per epoch and the wall time of each.

    python bench/detection.py [--epochs 10] [--data /tmp/shapes_bench]
    python bench/detection.py --small              # dlrun alone, 30 epochs: the small detector (bench/small_detector.py)

--small trains what reaches val mAP@0.5 >= 0.5 on this data on a CPU: a small Faster R-CNN built
from torchvision's classes (model=custom), SGD 0.02 with a cosine schedule.
"""

import argparse
import csv
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from whole_process import timed  # noqa: E402  (bench/, the script's own folder)

from tests.tasks.detection_data import shapes  # noqa: E402


def data(root: Path) -> Path:
    if not (root / "train.json").is_file():
        shapes(root, 255, sizes=(128, 128), seed=1, name="train")
        shapes(root, 64, sizes=(128, 128), seed=2, name="val", start=255)
    return root


COMMON = ("task=detection", "dataset=coco", "dataset.annotations=train.json", "dataset.val_annotations=val.json")


def val_map_50(run_dir: Path) -> list[float]:
    with open(run_dir / "metrics.csv") as f:
        return [float(row["val/map_50"]) for row in csv.DictReader(f)]


def train(dlrun: str, root: Path, epochs: int, options: list[str], prefix: str, cwd: Path) -> tuple[float, Path]:
    """(seconds, run directory) of one dlrun process on the bench data: SGD with weight decay 1e-4,
    batch 8, validation on val.json (also the test split), plus `options` (model, lr ...)."""
    run_dir = Path(tempfile.mkdtemp(prefix=prefix))
    seconds, _ = timed(
        [
            dlrun,
            *COMMON,
            f"dataset.root={root}",
            "dataset.test_annotations=val.json",
            *options,
            "optimizer=sgd",
            "optimizer.weight_decay=1e-4",
            "batch_size=8",
            f"epochs={epochs}",
            "logger=none",
            "trainer.progress=none",
            f"hydra.run.dir={run_dir}",
        ],
        cwd,
    )
    return seconds, run_dir


def small(root: Path, dlrun: str, epochs: int) -> None:
    seconds, run_dir = train(
        dlrun,
        root,
        epochs,
        ["model=custom", "model.class_path=small_detector.small_faster_rcnn", "lr=0.02", "scheduler=cosine"],
        "dlrun_small_detector_",
        REPO / "bench",  # small_detector.py is imported from the working directory
    )
    scores = val_map_50(run_dir)
    print("epoch  val mAP@0.5\n" + "\n".join(f"{e:>5}  {v:.4f}" for e, v in enumerate(scores, 1)))
    print(f"best {max(scores):.4f} (epoch {scores.index(max(scores)) + 1}), final {scores[-1]:.4f}; {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, help="default: 10, or 30 with --small")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "shapes_bench")
    parser.add_argument("--small", action="store_true", help="dlrun alone, with bench/small_detector.py")
    args = parser.parse_args()
    root = data(args.data)
    python, dlrun = sys.executable, str(Path(sys.executable).parent / "dlrun")
    if args.small:
        return small(root, dlrun, args.epochs or 30)
    args.epochs = args.epochs or 10
    hand_time, out = timed(
        [python, str(REPO / "bench" / "detection_hand_written.py"), "--root", str(root), "--epochs", str(args.epochs)],
        root,
    )
    hand = [float(v) for v in re.findall(r"mAP@0\.5 ([0-9.]+)", out)]
    dlrun_time, run_dir = train(
        dlrun,
        root,
        args.epochs,
        [
            "model=fasterrcnn_mobilenet_v3_large_320_fpn",
            "model.kwargs={min_size:128,max_size:128}",
            "lr=0.01",
            "optimizer.decay_norm_and_bias=true",  # weight decay on every parameter, as the hand-written loop
        ],
        "dlrun_detection_",
        root,
    )
    ours = val_map_50(run_dir)
    print(f"{'epoch':>5} {'hand-written':>13} {'dlrun':>8}   (val mAP@0.5)")
    for epoch, (a, b) in enumerate(zip(hand, ours), 1):
        print(f"{epoch:>5} {a:>13.4f} {b:>8.4f}")
    print(f"best  {max(hand):>13.4f} {max(ours):>8.4f}")
    print(f"wall time: hand-written {hand_time:.0f} s, dlrun {dlrun_time:.0f} s (whole processes)")


if __name__ == "__main__":
    main()
