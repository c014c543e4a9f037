"""Detection test data the tests (and bench/detection_hand_written.py) write themselves: coloured
circles, squares and triangles on noisy backgrounds, 1-5 per image, images of 96-160 px (or one
size), written both as COCO JSON and as YOLO text files over the same images:

    root/images/NNNN.png
    root/<name>.json            COCO: images (file_name images/NNNN.png), annotations (bbox [x, y, w, h]
                                in pixels), categories 1..3
    root/labels/NNNN.txt        YOLO: `class cx cy w h` normalised to the image, class 0..2
    root/data.yaml              YOLO: names
"""

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ["circle", "square", "triangle"]

BLOCKS = (  # your own Dataset of images with boxes (dataset=custom task=detection)
    "import torch\n"
    "class Blocks(torch.utils.data.Dataset):\n"
    "    classes = ['block']\n"
    "    def __len__(self): return 20\n"
    "    def __getitem__(self, i):\n"
    "        image = torch.zeros(3, 40, 48, dtype=torch.uint8); image[:, 5:20, i:i + 10] = 200\n"
    "        boxes = torch.tensor([[i, 5, i + 10, 20]]) if i % 5 else torch.zeros(0, 4)\n"
    "        return image, {'boxes': boxes, 'labels': torch.zeros(len(boxes), dtype=torch.int64)}\n"
)


def draw_image(rng, width: int, height: int, objects: tuple[int, int], sides: tuple[float, float]):
    """(PIL image, [(class index, x, y, w, h)]): shapes at integer pixel boxes, overlapping allowed."""
    background = rng.uniform(0, 110, size=(height, width, 3)) + rng.uniform(0, 60, size=3)
    image = Image.fromarray(background.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes = []
    shortest = min(width, height)
    for _ in range(int(rng.integers(objects[0], objects[1] + 1))):
        kind = int(rng.integers(0, 3))
        side = int(rng.integers(int(shortest * sides[0]), int(shortest * sides[1]) + 1))
        x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
        colour = tuple(int(c) for c in rng.integers(140, 256, size=3))
        if kind == 0:
            draw.ellipse([x, y, x + side - 1, y + side - 1], fill=colour)
        elif kind == 1:
            draw.rectangle([x, y, x + side - 1, y + side - 1], fill=colour)
        else:
            draw.polygon([(x, y + side - 1), (x + side - 1, y + side - 1), (x + side // 2, y)], fill=colour)
        boxes.append((kind, x, y, side, side))
    return image, boxes


def shapes(
    root: Path,
    n: int = 40,
    *,
    sizes: tuple[int, int] = (96, 160),
    objects: tuple[int, int] = (1, 5),
    sides: tuple[float, float] = (0.15, 0.4),
    seed: int = 0,
    name: str = "annotations",
    start: int = 0,
    negatives: int = 0,
) -> Path:
    """Write n images (the last `negatives` without objects) with their COCO file root/<name>.json
    and YOLO labels; `start` numbers the files (several COCO files over one images/ folder)."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    coco = {"images": [], "annotations": [], "categories": [{"id": i + 1, "name": c} for i, c in enumerate(CLASSES)]}
    for i in range(start, start + n):
        width, height = (int(v) for v in rng.integers(sizes[0], sizes[1] + 1, size=2))
        image, boxes = draw_image(rng, width, height, (0, 0) if i >= start + n - negatives else objects, sides)
        file = f"{i:04d}.png"
        image.save(root / "images" / file)
        coco["images"].append({"id": i + 1, "file_name": f"images/{file}", "width": width, "height": height})
        lines = []
        for kind, x, y, w, h in boxes:
            coco["annotations"].append(
                {
                    "id": len(coco["annotations"]) + 1,
                    "image_id": i + 1,
                    "category_id": kind + 1,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            lines.append(f"{kind} {(x + w / 2) / width!r} {(y + h / 2) / height!r} {w / width!r} {h / height!r}")
        (root / "labels" / f"{i:04d}.txt").write_text("".join(line + "\n" for line in lines))
    (root / f"{name}.json").write_text(json.dumps(coco))
    (root / "data.yaml").write_text("names: [" + ", ".join(CLASSES) + "]\n")
    return root
