"""The detection loop people write by hand from torchvision's tutorial and references, for the
same run as `dlrun task=detection dataset=coco ...` (bench/detection.py runs both):
fasterrcnn_mobilenet_v3_large_320_fpn from random init, min_size = max_size = 128, SGD 0.01
(momentum 0.9, weight decay 1e-4), batch 8, random horizontal flips, a validation pass per epoch
scored with pycocotools' COCOeval (mAP@[.5:.95] and mAP@0.5).

    python bench/detection_hand_written.py --root /tmp/shapes --epochs 10
"""

import argparse
import contextlib
import io
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn
from torchvision.transforms import v2


class CocoBoxes(Dataset):
    def __init__(self, root: Path, annotations: str, train: bool):
        self.root, self.coco = root, json.loads((root / annotations).read_text())
        self.images = sorted(self.coco["images"], key=lambda image: image["file_name"])
        self.boxes = {image["id"]: [] for image in self.images}
        for a in self.coco["annotations"]:
            self.boxes[a["image_id"]].append(a)
        flip = [v2.RandomHorizontalFlip()] if train else []
        self.transform = v2.Compose([v2.ToImage(), *flip, v2.ToDtype(torch.float32, scale=True)])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        entry = self.images[i]
        image = Image.open(self.root / entry["file_name"]).convert("RGB")
        found = self.boxes[entry["id"]]
        xywh = torch.tensor([a["bbox"] for a in found], dtype=torch.float32).reshape(-1, 4)
        boxes = tv_tensors.BoundingBoxes(
            torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1), format="XYXY", canvas_size=image.size[::-1]
        )
        target = {"boxes": boxes, "labels": torch.tensor([a["category_id"] for a in found], dtype=torch.int64)}
        image, target = self.transform(image, target)
        return image, {**target, "image_id": entry["id"]}


def collate(batch):
    return tuple(zip(*batch))


@torch.no_grad()
def coco_map(model, loader, annotations: Path) -> tuple[float, float]:
    model.eval()
    results = []
    for images, targets in loader:
        for output, target in zip(model(list(images)), targets):
            for box, score, label in zip(
                output["boxes"].tolist(), output["scores"].tolist(), output["labels"].tolist()
            ):
                x1, y1, x2, y2 = box
                results.append(
                    {
                        "image_id": target["image_id"],
                        "category_id": label,
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "score": score,
                    }
                )
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(annotations))
        if not results:
            return 0.0, 0.0
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0]), float(evaluation.stats[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(0)
    train = DataLoader(
        CocoBoxes(args.root, "train.json", True),
        batch_size=args.batch_size,
        shuffle=True,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(0),
    )
    val = DataLoader(CocoBoxes(args.root, "val.json", False), batch_size=args.batch_size, collate_fn=collate)
    classes = len(json.loads((args.root / "train.json").read_text())["categories"])
    model = fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=classes + 1, min_size=128, max_size=128
    )
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=1e-4)
    best = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        total = count = 0
        for images, targets in train:
            losses = model(list(images), [{"boxes": t["boxes"], "labels": t["labels"]} for t in targets])
            loss = sum(losses.values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count = total + loss.item() * len(images), count + len(images)
        map_all, map_50 = coco_map(model, val, args.root / "val.json")
        best = max(best, map_50)
        print(
            f"epoch {epoch}: train loss {total / count:.4f}  val mAP {map_all:.4f}  mAP@0.5 {map_50:.4f}  "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    print(f"hand-written: best val mAP@0.5 {best:.4f}, {time.perf_counter() - started:.1f} s in all")


if __name__ == "__main__":
    np.random.seed(0)
    main()
