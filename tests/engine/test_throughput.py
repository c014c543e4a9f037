"""Where an epoch's time and memory went: samples/s, step time, data wait and peak memory per
epoch in metrics.csv (and summary.json's totals); a run that waits on its data says so and
what to try, and the same data decoded in memory does not wait."""

import csv
import json

import numpy as np
from PIL import Image

from dlrun.engine.throughput import TIMING_COLUMNS, EpochClock, totals


def rows(run_dir) -> list[dict]:
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_a_digits_run_records_its_figures_per_epoch(train):
    run_dir = train("epochs=2")
    table = rows(run_dir)
    for row in table:
        figures = {name: float(row[name]) for name in TIMING_COLUMNS}
        assert figures["samples_per_s"] > 100 and 0 < figures["step_ms"] < 1000
        assert 0 <= figures["data_wait"] < 1 and figures["peak_memory_mb"] > 50  # the process's RSS: torch alone
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["throughput"] == totals(table)
    assert set(summary["throughput"]) == set(TIMING_COLUMNS)


def test_the_clock_counts_waiting_and_working():
    import time

    import torch

    def slow_data():
        for _ in range(4):
            time.sleep(0.03)
            yield torch.zeros(2), torch.zeros(2)

    clock = EpochClock(torch.device("cpu"))
    for _, targets in clock.batches(slow_data()):
        time.sleep(0.01)  # the model's work
        clock.tick(len(targets))
    figures = clock.figures()
    assert 0.6 < figures["data_wait"] < 0.9  # 30 ms waiting of every 40
    assert 35 < figures["step_ms"] < 80 and 35 < figures["samples_per_s"] < 60


def test_a_run_waiting_on_its_data_says_so_and_in_memory_it_does_not(train, tmp_path):
    rng = np.random.default_rng(0)
    for c in range(2):
        (tmp_path / "images" / f"c{c}").mkdir(parents=True)
        for i in range(48):
            pixels = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / f"c{c}" / f"{i}.png")
    common = ("dataset=image_folder", f"dataset.root={tmp_path / 'images'}", "epochs=2", "batch_size=16",
              "model.channels=[8,16]", "dataset.transforms.resize=[96,96]")  # fmt: skip
    heavy = "dataset.transforms.train_extra=[{_target_:torchvision.transforms.v2.ElasticTransform,alpha:20.0}]"
    files = train(*common, "dataset/transforms=trivialaugment", "dataset.transforms.resize=[96,96]", heavy,
                  "loader.in_memory=false", "loader.num_workers=0", run_dir=tmp_path / "files")  # fmt: skip
    waited = [float(r["data_wait"]) for r in rows(files)]
    assert min(waited) > 0.3, waited
    said = (files / "train.log").read_text()
    assert "waited on its data for" in said and "loader.num_workers=2 (now 0)" in said
    assert said.count("waited on its data") == 1  # once a run

    memory = train(*common, "loader.in_memory=true", run_dir=tmp_path / "memory")
    assert max(float(r["data_wait"]) for r in rows(memory)) < 0.3
    assert "waited on its data" not in (memory / "train.log").read_text()
