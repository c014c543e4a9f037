"""The real `dlrun` command, as a user types it, writing real run directories."""

import json

import pytest
from wandb_records import run_records

RUN_FILES = [
    ".hydra/config.yaml",
    ".hydra/hydra.yaml",
    ".hydra/overrides.yaml",
    "config.yaml",
    "metrics.csv",
    "summary.json",
    "checkpoints/last.pt",
    "checkpoints/best.pt",
    "train.log",
]

FIRST_WORDS = ["run", "config", "changed", "data", "model", "training"]  # as the README's Console section shows


def assert_complete_run(run_dir):
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), f"{run_dir} lacks {name}"
    return json.loads((run_dir / "summary.json").read_text())


@pytest.mark.slow
def test_resnet50_with_adam(dlrun_cli, tmp_path):
    result = dlrun_cli(
        "model=resnet50",
        "optimizer=adam",
        "lr=1e-3",
        "epochs=1",
        "logger=none",
        "trainer.limit_train_batches=3",
        "trainer.limit_val_batches=1",
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    summary = assert_complete_run(run_dir)
    assert summary["parameters"]["total"] > 20_000_000
    assert summary["overrides"][:5] == ["model=resnet50", "optimizer=adam", "lr=1e-3", "epochs=1", "logger=none"]
    assert "results" in result.stdout and f"run directory: {run_dir}" in result.stdout.replace("\n", "")
    assert "epoch 1 " in result.stdout  # line-by-line output: stdout is not a terminal
    lines = result.stdout.splitlines()
    before_training = lines[: next(i for i, line in enumerate(lines) if line.startswith("epoch 1 "))]
    assert len(before_training) <= 25 and [line.split()[0] for line in before_training[:6]] == FIRST_WORDS
    assert before_training[2].split(None, 1)[1].startswith("model=resnet50 optimizer=adam lr=1e-3 epochs=1")
    assert "model=resnet50" in before_training[1] and "├── " not in result.stdout  # no config tree
    assert "test/acc" in result.stdout and "test (best" not in result.stdout  # test metrics by their own names


@pytest.mark.slow
def test_multirun_grid_writes_a_job_per_combination_each_its_own_wandb_run(dlrun_cli, tmp_path):
    result = dlrun_cli("-m", "optimizer=adam,sgd", "lr=1e-3,1e-2", "epochs=2")
    assert result.returncode == 0, result.stderr
    (sweep,) = (tmp_path / "outputs" / "multirun").iterdir()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [j.name for j in jobs] == ["0", "1", "2", "3"]
    combos, run_ids = set(), set()
    for job in jobs:
        summary = assert_complete_run(job)
        combos.add(tuple(summary["overrides"]))
        (offline,) = (job / "wandb").glob("offline-run-*")
        records = run_records(offline)
        assert records["run"].run_group == sweep.name, "jobs of one sweep share a W&B group"
        run_ids.add(records["run"].run_id)
    assert len(combos) == 4 and len(run_ids) == 4
    for name in ("report.csv", "report.md", "report.png"):  # the automatic report after the sweep
        assert (sweep / name).is_file(), name
    assert "4 runs, ranked" in result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) < 30, result.stdout  # a line per job and the report, no config tree per job
    job_lines = [line for line in lines if line.startswith("#")]
    assert [line.split()[0] for line in job_lines] == ["#0", "#1", "#2", "#3"]
    assert all("val/acc" in line and "test/acc" in line for line in job_lines)
    assert all("epoch 2 " in (job / "train.log").read_text() for job in jobs)  # each job's whole log


@pytest.mark.slow
def test_a_failing_job_does_not_end_the_sweep_and_the_report_lists_it(dlrun_cli, tmp_path):
    result = dlrun_cli("-m", "model=mlp", "model.dropout=0.1,1.5", "epochs=1", "logger=none")
    assert result.returncode == 0, result.stderr
    assert "error in job 1" in result.stderr and "model.dropout=1.5" in result.stderr
    (sweep,) = (tmp_path / "outputs" / "multirun").iterdir()
    assert (sweep / "1" / "failed.json").is_file() and (sweep / "0" / "summary.json").is_file()
    import csv

    with open(sweep / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["model.dropout"] for r in rows] == ["0.1", "1.5"]
    assert rows[0]["status"] == "completed" and rows[1]["status"].startswith("failed: model.dropout=1.5")
    again = dlrun_cli("report", str(sweep), "--output", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    from PIL import Image

    with Image.open(tmp_path / "again" / "report.png") as png:
        assert png.size[0] > 800 and png.size[1] > 300
    md = (tmp_path / "again" / "report.md").read_text()
    assert md.startswith("| rank | job | model.dropout |") and "failed" in md


@pytest.mark.slow
def test_a_preset_that_sets_hydra_mode_is_obeyed(tmp_path):
    """A preset in dlrun's own config tree with `hydra.mode: MULTIRUN` makes the command a
    sweep, as Hydra documents (the start-up shortcut that skips reading hydra.mode must not
    apply). The CLI runs over a copy of the config tree that has such a preset."""
    import shutil
    import subprocess
    import sys

    from dlrun.config.tree import conf_dir
    from tests.processes import cli_env

    conf = tmp_path / "conf"
    shutil.copytree(conf_dir(), conf)
    (conf / "experiment" / "always_a_sweep.yaml").write_text(
        "# @package _global_\nhydra:\n  mode: MULTIRUN\nepochs: 1\n"
    )
    main = (
        "import sys; from pathlib import Path; import dlrun.config.tree as tree; "
        f"tree.conf_dir = lambda: Path({str(conf)!r}); from dlrun.cli import main; main()"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            main,
            "experiment=always_a_sweep",
            "model=mlp",
            "model.hidden=[8]",
            "logger=none",
            "trainer.progress=none",
            "hydra.sweep.dir=sweep",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "sweep" / "0" / "summary.json").is_file(), result.stdout[-2000:]
    assert not (tmp_path / "outputs" / "runs").exists(), "it ran as a single run"


@pytest.mark.slow
def test_dlruns_own_messages_come_once_in_its_format(dlrun_cli, tmp_path):
    from tests.datasets.fixtures import image_tree

    image_tree(tmp_path / "pets", per_class=6, size=12)
    result = dlrun_cli("dataset=image_folder", "dataset.root=pets", "epochs=1", "logger=none")
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    assert said.count("image_folder: 2 classes, 12 training images") == 1, said  # a logging record, said once
    assert "[INFO]" not in said and "[dlrun]" not in said, said
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:6]] == FIRST_WORDS, said  # what the run is comes first,
    assert lines[6] == "image_folder: 2 classes, 12 training images", said  # then what building it said
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    assert "image_folder: 2 classes, 12 training images" in (run_dir / "train.log").read_text()
