"""dataset=table reads CSV, TSV, Parquet and Feather; dataset=arrays reads .npz, .npy and .pt:
the same numbers in any of them train exactly like the CSV file."""

import csv

import numpy as np
import pandas as pd
import pytest
import torch

FEATURES = ["f0", "f1", "f2", "f3", "f4"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One small classification table (240 rows, 3 classes) in every format dlrun reads."""
    root = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    frame = pd.DataFrame(x, columns=FEATURES).assign(label=y)
    frame.to_csv(root / "t.csv", index=False)
    frame.to_csv(root / "t.tsv.gz", index=False, sep="\t")
    frame.to_parquet(root / "t.parquet")
    frame.to_feather(root / "t.feather")
    np.savez(root / "t.npz", x=x, y=y)
    np.save(root / "x.npy", x)
    np.save(root / "y.npy", y[:, None])
    torch.save({"inputs": torch.from_numpy(x), "labels": torch.from_numpy(y)}, root / "t.pt")
    return root


def results(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return [(row["val/loss"], row["val/acc"]) for row in csv.DictReader(f)]


def test_every_format_trains_like_the_csv_file(train, files, tmp_path):
    common = ("model=mlp", "epochs=2")
    reference = results(
        train(
            "dataset=table",
            f"dataset.path={files / 't.csv'}",
            "dataset.target=label",
            *common,
            run_dir=tmp_path / "csv",
        )
    )
    for name in ("t.tsv.gz", "t.parquet", "t.feather"):
        got = train(
            "dataset=table", f"dataset.path={files / name}", "dataset.target=label", *common, run_dir=tmp_path / name
        )
        assert results(got) == reference, name
    for extra in (
        ["dataset.path=" + str(files / "t.npz")],
        ["dataset.path=" + str(files / "t.pt")],
        ["dataset.path=" + str(files / "x.npy"), "dataset.targets_path=" + str(files / "y.npy")],
    ):
        got = train("dataset=arrays", *extra, *common, run_dir=tmp_path / extra[0].rsplit("/", 1)[-1])
        assert results(got) == reference, extra


def test_image_arrays_channels_last(train, tmp_path):
    import json

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, size=120)
    images = rng.integers(0, 60, size=(120, 8, 8, 3), dtype=np.uint8)
    images[labels == 1, 2:6, 2:6, :] = 255  # class 1: a bright square
    np.savez(tmp_path / "images.npz", images=images, labels=labels)
    run_dir = train("dataset=arrays", f"dataset.path={tmp_path / 'images.npz'}", "model=cnn", "epochs=3", "lr=3e-3")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["data"]["input_shape"] == [3, 8, 8] and summary["data"]["class_names"] == ["0", "1"]
    assert summary["test"]["test/acc"] >= 0.9


@pytest.mark.slow
def test_an_arrays_run_predicts_from_image_files(train, tmp_path):
    import argparse

    from PIL import Image

    from dlrun.commands import predict

    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, size=80)
    images = rng.integers(0, 60, size=(80, 8, 8, 3), dtype=np.uint8)
    images[labels == 1, 2:6, 2:6, :] = 255
    np.savez(tmp_path / "images.npz", images=images, labels=labels)
    run_dir = train("dataset=arrays", f"dataset.path={tmp_path / 'images.npz'}", "model=cnn", "epochs=3", "lr=3e-3")
    bright = np.zeros((8, 8, 3), np.uint8)
    bright[2:6, 2:6] = 255
    Image.fromarray(bright).save(tmp_path / "bright.png")
    out = tmp_path / "predictions.csv"
    assert (
        predict.main(
            argparse.Namespace(
                run=str(run_dir), inputs=[str(tmp_path / "bright.png")], checkpoint="best", trust=[], output=str(out)
            )
        )
        == 0
    )
    with open(out) as f:
        assert next(csv.DictReader(f))["class"] == "1"  # an RGB file, in the layout the arrays trained in
