"""Short real training runs: classification reaches its target, regression learns, the
run directory holds everything it promises."""

import csv
import json

import pytest
import torch
import yaml

from dlrun.engine.checkpoint import load_checkpoint
from dlrun.engine.throughput import TIMING_COLUMNS


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_default_run_reaches_97_percent_test_accuracy(train):
    run_dir = train()  # the defaults: cnn on digits, adam, 10 epochs
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test"]["test/acc"] >= 0.97, summary["test"]


def test_run_directory_contents(train):
    run_dir = train(
        "epochs=3", "optimizer=sgd", "lr=0.05", "scheduler=step", "scheduler.step_size=1", "scheduler.gamma=0.5"
    )
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["optimizer"]["lr"] == 0.05 and config["scheduler"]["step_size"] == 1  # resolved values

    rows = read_metrics(run_dir)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert list(rows[0]) == ["epoch", "train/loss", "val/loss", "val/acc", "val/f1", "lr", "seconds", *TIMING_COLUMNS]
    assert [float(r["lr"]) for r in rows] == [0.05, 0.025, 0.0125]  # the step scheduler acted per epoch
    assert float(rows[-1]["train/loss"]) < float(rows[0]["train/loss"])

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["monitor"] == "val/acc" and summary["mode"] == "max"
    best_epoch = max(rows, key=lambda r: float(r["val/acc"]))["epoch"]
    assert summary["best"]["epoch"] == int(best_epoch)
    assert summary["final"]["epoch"] == 3
    assert set(summary["test"]) == {"test/loss", "test/acc", "test/f1"}
    assert set(summary["versions"]) >= {"python", "torch", "torchvision", "dlrun"}
    assert summary["device"] == "cpu" and summary["wall_time_s"] > 0

    last = load_checkpoint(run_dir / "checkpoints" / "last.pt")  # weights_only=True inside
    best = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)
    assert last["epoch"] == 3 and best["epoch"] == summary["best"]["epoch"]
    assert {"model", "optimizer", "scheduler", "epoch", "metrics", "config"} <= set(last)
    assert last["config"] == config
    assert last["optimizer"]["state"], "optimizer state (momentum buffers) is saved"
    assert not list(run_dir.glob("checkpoints/*.tmp")), "no temporary files are left behind"


def test_test_metrics_come_from_the_best_checkpoint(train, make_cfg):
    from dlrun import datasets, models
    from dlrun.engine.loop import evaluate
    from dlrun.metrics.builtin import make_metrics
    from dlrun.training.losses import build_loss

    run_dir = train("epochs=3")
    summary = json.loads((run_dir / "summary.json").read_text())
    cfg = make_cfg("epochs=3")
    loaders, info = datasets.build(cfg.dataset, cfg.loader, seed=cfg.seed, batch_size=cfg.batch_size)
    model = models.build(cfg.model, info)
    model.load_state_dict(load_checkpoint(run_dir / "checkpoints" / "best.pt")["model"])
    test = evaluate(
        model,
        loaders["test"],
        build_loss(cfg.loss, info),
        make_metrics(info.task, 10),
        torch.device("cpu"),
        info.task,
        split="test",
    )
    assert test == pytest.approx(summary["test"])


def test_regression_path(train):
    run_dir = train(
        "dataset=synthetic",
        "task=regression",
        "dataset.n_samples=400",
        "dataset.n_features=8",
        "loss=mse",
        "model=mlp",
        "epochs=8",
        "lr=3e-3",
    )
    rows = read_metrics(run_dir)
    assert list(rows[0]) == [
        "epoch",
        "train/loss",
        "val/loss",
        "val/mae",
        "val/mse",
        "val/r2",
        "val/rmse",
        "lr",
        "seconds",
        *TIMING_COLUMNS,
    ]
    assert float(rows[-1]["val/mse"]) < float(rows[0]["val/mse"])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["monitor"] == "val/loss" and summary["mode"] == "min"
    assert summary["test"]["test/r2"] > 0.8, summary["test"]
    assert summary["data"]["task"] == "regression"


@pytest.mark.parametrize("loss", ["nll", "mse", "l1", "smooth_l1", "huber", "bce_with_logits"])
def test_every_loss_trains_a_classifier(train, loss, tmp_path):
    run_dir = train(f"loss={loss}", "model=mlp", "epochs=2", "lr=3e-3", run_dir=tmp_path / loss)
    rows = read_metrics(run_dir)
    assert float(rows[-1]["val/acc"]) > 0.5, (loss, rows)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"])
def test_every_optimizer_trains(train, optimizer, tmp_path):
    lr = {"adadelta": "1.0", "sgd": "0.05", "adagrad": "0.05"}.get(optimizer, "1e-3")
    run_dir = train(f"optimizer={optimizer}", f"lr={lr}", "model=mlp", "epochs=2", run_dir=tmp_path / optimizer)
    rows = read_metrics(run_dir)
    assert float(rows[-1]["train/loss"]) < 2.2, (optimizer, rows)  # below chance level, ln(10) = 2.30


def test_class_index_loss_on_regression_data_is_refused(train):
    from dlrun.errors import DlrunError

    with pytest.raises(DlrunError, match="needs class labels"):
        train("dataset=synthetic", "task=regression", "loss=cross_entropy", "model=mlp", "epochs=1")


def test_cosine_schedule_reaches_eta_min(train):
    run_dir = train("scheduler=cosine", "epochs=4", "model=mlp", "scheduler.eta_min=1e-5")
    lrs = [float(r["lr"]) for r in read_metrics(run_dir)]
    assert lrs[0] == 1e-3 and lrs == sorted(lrs, reverse=True) and lrs[-1] > 1e-5


def test_run_record_in_summary(train, tmp_path, monkeypatch):
    import subprocess
    import sys

    project = tmp_path / "project"
    project.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    (project / "notes.txt").write_text("v1\n")
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=project, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "argv", ["dlrun", "epochs=1", "seed=5"])
    summary = json.loads(
        (train("epochs=1", "seed=5", "model=mlp", run_dir=tmp_path / "run") / "summary.json").read_text()
    )
    assert summary["git"] == {"commit": commit, "dirty": False}
    assert summary["command"] == "dlrun epochs=1 seed=5" and summary["seed"] == 5
    assert summary["hostname"] and summary["device_name"] == "cpu"
    assert set(summary["versions"]) == {"python", "torch", "torchvision", "cuda", "dlrun"}
    assert summary["started_at"] <= summary["ended_at"] and summary["overrides"] == ["epochs=1", "seed=5", "model=mlp"]
    (project / "notes.txt").write_text("v2\n")
    again = json.loads((train("epochs=1", "model=mlp", run_dir=tmp_path / "run2") / "summary.json").read_text())
    assert again["git"]["dirty"] is True
