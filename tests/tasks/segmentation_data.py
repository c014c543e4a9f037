"""Segmentation test data the tests write themselves: shapes (circles, squares, triangles) on
noisy backgrounds, with palette-PNG masks of class indices (255 on the circles' rims, ignored,
as VOC marks object borders) and a classes.txt."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ["background", "circle", "square", "triangle"]
PALETTE = [0, 0, 0, 220, 60, 60, 60, 180, 60, 60, 90, 220] + [0, 0, 0] * 251 + [255, 255, 255]


def shapes(root: Path, n: int = 300, size: int = 64, seed: int = 0) -> Path:
    """root/images/NNNN.png (RGB), root/masks/NNNN.png (palette indices), root/classes.txt."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        background = rng.uniform(0, 120, size=(size, size, 3)) + rng.uniform(0, 60, size=3)
        image = Image.fromarray(background.clip(0, 255).astype(np.uint8))
        mask = Image.new("P", (size, size), 0)
        mask.putpalette(PALETTE)
        draw, outline = ImageDraw.Draw(image), ImageDraw.Draw(mask)
        for _ in range(rng.integers(1, 4)):
            kind = int(rng.integers(1, 4))
            side = int(rng.integers(size // 6, size // 3))
            x, y = (int(v) for v in rng.integers(0, size - side, size=2))
            colour = tuple(int(c) for c in rng.integers(130, 256, size=3))
            box = [x, y, x + side, y + side]
            if kind == 1:
                draw.ellipse(box, fill=colour)
                outline.ellipse(box, fill=1, outline=255)
            elif kind == 2:
                draw.rectangle(box, fill=colour)
                outline.rectangle(box, fill=2)
            else:
                points = [(x, y + side), (x + side, y + side), (x + side // 2, y)]
                draw.polygon(points, fill=colour)
                outline.polygon(points, fill=3)
        image.save(root / "images" / f"{i:04d}.png")
        mask.save(root / "masks" / f"{i:04d}.png")
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    return root
