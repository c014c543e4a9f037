"""Multi-label test data the tests write themselves: canvases with 2-4 of scikit-learn's
digits (labels: which digits are on it) as PNG files with a labels file, and a table from
scikit-learn's make_multilabel_classification (label lists, and 0/1 columns)."""

from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 32  # the canvas; a digit (8x8, scaled to 12x12) sits in one of its four quadrants, jittered
LABELS = ["cat", "dog", "bird", "fish", "frog"]


def digit_canvases(root: Path, n: int = 1500, seed: int = 0) -> Path:
    """root/images/*.png and root/labels.csv (image,labels with labels like 3|7|9)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    by_digit = [digits.images[digits.target == d] for d in range(10)]
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = ["image,labels"]
    for i in range(n):
        count = rng.integers(2, 5)
        chosen = sorted(rng.choice(10, size=count, replace=False))
        canvas = rng.uniform(0, 40, size=(SIDE, SIDE))
        for quadrant, digit in zip(rng.permutation(4), chosen):
            glyph = by_digit[digit][rng.integers(len(by_digit[digit]))]
            glyph = np.kron(glyph, np.ones((3, 3)))[::2, ::2] * (215 / 16)  # 8x8 -> 12x12, 0..215
            top = (quadrant // 2) * 16 + rng.integers(0, 5)
            left = (quadrant % 2) * 16 + rng.integers(0, 5)
            canvas[top : top + 12, left : left + 12] = np.maximum(canvas[top : top + 12, left : left + 12], glyph)
        Image.fromarray(canvas.clip(0, 255).astype(np.uint8), mode="L").save(root / "images" / f"{i:05d}.png")
        rows.append(f"images/{i:05d}.png,{'|'.join(str(d) for d in chosen)}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def label_table(folder: Path, n: int = 600, seed: int = 0) -> tuple[Path, Path]:
    """(lists.csv with a `tags` column like cat|fish, columns.csv with a 0/1 column per label)."""
    import pandas as pd
    from sklearn.datasets import make_multilabel_classification

    x, y = make_multilabel_classification(
        n_samples=n, n_features=12, n_classes=len(LABELS), n_labels=2, random_state=seed
    )
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    columns = frame.assign(**{name: y[:, j] for j, name in enumerate(LABELS)})
    lists = frame.assign(tags=["|".join(n for n, on in zip(LABELS, row) if on) for row in y])
    folder.mkdir(parents=True, exist_ok=True)
    lists.to_csv(folder / "lists.csv", index=False)
    columns.to_csv(folder / "columns.csv", index=False)
    return folder / "lists.csv", folder / "columns.csv"
