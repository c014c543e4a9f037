"""A loss, an optimizer, a scheduler, a transform and a metric of the user's own, from a file
in the working directory, in both config forms; a saved run naming them is re-used only when
trusted, and then reproduces exactly."""

import csv
import importlib
import sys

import pytest

from dlrun.engine.throughput import TIMING_COLUMNS
from tests.training.pieces import PIECES

DIGITS = ("model=mlp", "epochs=2", "dataset.val_fraction=0.3")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    home = tmp_path_factory.mktemp("own")
    (home / "my_pieces.py").write_text(PIECES)
    return home


@pytest.fixture
def pieces(workdir, monkeypatch):
    """The working directory holds my_pieces.py; its CALLS counters start at zero."""
    monkeypatch.chdir(workdir)
    monkeypatch.syspath_prepend(str(workdir))
    module = importlib.import_module("my_pieces")
    for key in module.CALLS:
        module.CALLS[key] = 0
    yield module
    sys.modules.pop("my_pieces", None)


def rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def losses(run_dir):
    return [float(row["val/loss"]) for row in rows(run_dir)]


def test_focal_loss_in_both_forms(train, pieces, tmp_path):
    reference = losses(train(*DIGITS, run_dir=tmp_path / "ce"))
    as_custom = losses(
        train(
            *DIGITS,
            "loss=custom",
            "loss.class_path=my_pieces.Focal",
            "loss.kwargs={gamma: 0}",
            run_dir=tmp_path / "custom",
        )
    )
    assert as_custom == pytest.approx(reference, abs=1e-6)  # gamma = 0: the focal loss is cross entropy
    assert pieces.CALLS["loss"] > 0
    calls = pieces.CALLS["loss"]
    focal = losses(
        train(
            *DIGITS,
            "loss._target_=my_pieces.Focal",
            "~loss.label_smoothing",
            "+loss.gamma=2.0",
            run_dir=tmp_path / "target",
        )
    )
    assert pieces.CALLS["loss"] > calls and focal != pytest.approx(reference, abs=1e-3)


def test_optimizer_and_scheduler_classes(train, pieces, tmp_path):
    sgd = train(*DIGITS, "optimizer=sgd", "optimizer.momentum=0", "lr=0.05", run_dir=tmp_path / "sgd")
    own = train(
        *DIGITS,
        "optimizer=custom",
        "optimizer.class_path=my_pieces.PlainSGD",
        "lr=0.05",
        "scheduler=custom",
        "scheduler.class_path=my_pieces.Halve",
        "scheduler.kwargs={every: 100}",
        run_dir=tmp_path / "own",
    )
    assert losses(own) == pytest.approx(losses(sgd), abs=1e-6)  # the same steps, with the rate unchanged
    halved = train(
        *DIGITS,
        "epochs=3",
        "optimizer=custom",
        "optimizer.class_path=my_pieces.PlainSGD",
        "optimizer.kwargs={scale: 1.0}",
        "scheduler=custom",
        "scheduler.class_path=my_pieces.Halve",
        run_dir=tmp_path / "halved",
    )
    assert [float(row["lr"]) for row in rows(halved)] == [1e-3, 5e-4, 2.5e-4]  # stepped once per epoch


def test_transform_and_metric_of_your_own(train, pieces, tmp_path):
    from tests.datasets.fixtures import image_tree

    folder = image_tree(tmp_path / "images", per_class=10, size=8)
    run_dir = train(
        "dataset=image_folder",
        f"dataset.root={folder}",
        "epochs=2",
        "loader.num_workers=0",
        "dataset.transforms.train_extra=[{_target_: my_pieces.Invert}]",
        "trainer.metrics=[acc,my_pieces.brier]",
        "trainer.monitor=val/brier",
        run_dir=tmp_path / "run",
    )
    assert pieces.CALLS["transform"] >= 2 * 10  # every training image of both epochs went through it
    table = rows(run_dir)
    assert list(table[0]) == [
        "epoch",
        "train/loss",
        "val/loss",
        "val/acc",
        "val/brier",
        "lr",
        "seconds",
        *TIMING_COLUMNS,
    ]
    assert all(0 <= float(row["val/brier"]) <= 2 for row in table)
    import json

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["monitor"] == "val/brier" and summary["mode"] == "min"  # the function says lower is better
    assert summary["best"]["value"] == min(float(row["val/brier"]) for row in table)
    assert "test/brier" in summary["test"]


def test_saved_run_with_own_pieces_needs_trust_then_reproduces(train, pieces, dlrun_cli, workdir, capsys):
    import argparse

    from dlrun.commands import reproduce

    train(
        "model=mlp",
        "epochs=2",
        "loss=custom",
        "loss.class_path=my_pieces.Focal",
        "optimizer=custom",
        "optimizer.class_path=my_pieces.PlainSGD",
        "lr=0.05",
        "scheduler=custom",
        "scheduler.class_path=my_pieces.Halve",
        "trainer.metrics=[acc,my_pieces.brier]",
        run_dir=workdir / "original",
    )
    refused = dlrun_cli("reproduce", "original", "--verify", cwd=workdir)  # the real command: refused before torch
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    for named in (
        "loss.class_path=my_pieces.Focal",
        "optimizer.class_path=my_pieces.PlainSGD",
        "scheduler.class_path=my_pieces.Halve",
        "trainer.metrics[1]=my_pieces.brier",
        "--trust my_pieces",
    ):
        assert named in refused.stderr, refused.stderr
    assert reproduce.main(argparse.Namespace(run="original", overrides=[], verify=True, trust=["my_pieces"])) == 0
    said = capsys.readouterr()
    assert "all metrics identical" in said.err and "test: test/brier" in said.out
