"""TensorBoard event files, read back with TensorBoard's own reader; several loggers at once."""

import csv

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def test_tensorboard_scalars(train):
    run_dir = train("logger=tensorboard", "epochs=3", "trainer.log_every_n_steps=5")
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "val/loss", "val/acc", "lr", "train/loss_step", "test/acc"} <= tags
    assert [e.step for e in events.Scalars("val/acc")] == [1, 2, 3]
    with open(run_dir / "metrics.csv") as f:
        csv_acc = [float(r["val/acc"]) for r in csv.DictReader(f)]
    assert all(abs(e.value - v) < 1e-6 for e, v in zip(events.Scalars("val/acc"), csv_acc, strict=True))


def test_wandb_and_tensorboard_together(train):
    run_dir = train("logger=[wandb,tensorboard]", "epochs=1")
    assert list((run_dir / "wandb").glob("offline-run-*")) and list((run_dir / "tensorboard").glob("events.*"))
    assert (run_dir / "metrics.csv").is_file() and (run_dir / "summary.json").is_file()


def test_metrics_files_are_written_without_any_logger(train):
    run_dir = train("logger=none", "epochs=1")
    assert (run_dir / "metrics.csv").is_file() and (run_dir / "summary.json").is_file()
    assert not (run_dir / "tensorboard").exists() and not (run_dir / "wandb").exists()
