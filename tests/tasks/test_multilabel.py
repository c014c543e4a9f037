"""task=multilabel: every data form gives multi-hot targets; a run on digit canvases learns
(macro F1 >= 0.9 on the test split), tunes and saves its thresholds, and eval, predict and
export use them; resume is bit-identical and two processes score like one."""

import json
import sys

import numpy as np
import pytest
import torch

from dlrun.datasets import build_bundle
from tests.processes import dlrun
from tests.tasks.multilabel_data import LABELS, digit_canvases, label_table
from tests.tasks.same_runs import evaluated, killed_and_resumed, two_processes_and_one

QUIET = ("logger=none", "trainer.progress=none", "trainer.device=cpu")
TABLE = ("task=multilabel", "dataset=table", "dataset.target=tags", "dataset.label_sep=|", "model=mlp")


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return label_table(tmp_path_factory.mktemp("tables"))


def test_every_data_form_gives_multi_hot_targets(make_cfg, tables, tmp_path):
    lists, columns = tables
    x = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    y = (np.arange(60)[:, None] % np.array([2, 3, 5]) == 0).astype(np.int64)
    np.savez(tmp_path / "pairs.npz", x=x, y=y)
    digit_canvases(tmp_path / "canvas", n=40)
    (tmp_path / "tagged.py").write_text(
        "import torch\n"
        "class Tagged(torch.utils.data.Dataset):\n"
        "    classes = ['red', 'round', 'small']\n"
        "    def __len__(self): return 50\n"
        "    def __getitem__(self, i): return torch.full((3,), float(i)), torch.tensor([i % 2, i % 3 == 0, 1.0])\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        forms = {
            "lists": ("dataset=table", f"dataset.path={lists}", "dataset.target=tags", "dataset.label_sep=|"),
            "columns": ("dataset=table", f"dataset.path={columns}", f"dataset.targets=[{','.join(LABELS)}]"),
            "arrays": ("dataset=arrays", f"dataset.path={tmp_path / 'pairs.npz'}"),
            "folder": ("dataset=image_folder", f"dataset.root={tmp_path / 'canvas'}", "dataset.labels_file=labels.csv"),
            "custom": ("dataset=custom", "dataset.class_path=tagged.Tagged"),
        }
        bundles = {name: build_bundle(make_cfg("task=multilabel", *args).dataset) for name, args in forms.items()}
    finally:
        sys.path.remove(str(tmp_path))
    expected = {
        "lists": sorted(LABELS),
        "columns": LABELS,
        "arrays": ["0", "1", "2"],
        "custom": ["red", "round", "small"],
    }
    expected["folder"] = [str(d) for d in range(10)]
    for name, bundle in bundles.items():
        info = bundle.info
        assert (info.task, list(info.class_names), info.num_outputs) == (
            "multilabel",
            expected[name],
            len(expected[name]),
        )
        _, target = bundle.train[0]
        assert target.dtype == torch.float32 and target.shape == (info.num_outputs,), name
        assert set(torch.unique(target).tolist()) <= {0.0, 1.0}, name
    # the same table as label lists and as 0/1 columns: the same targets, in the labels' order
    order = [LABELS.index(name) for name in sorted(LABELS)]
    for split in ("train", "test"):
        by_lists = getattr(bundles["lists"], split).tensors[1]
        by_columns = getattr(bundles["columns"], split).tensors[1]
        assert torch.equal(by_lists, by_columns[:, order])
    canvas_rows = bundles["folder"].train.tensors[1] if hasattr(bundles["folder"].train, "tensors") else None
    assert canvas_rows is None or ((canvas_rows.sum(1) >= 2) & (canvas_rows.sum(1) <= 4)).all()


def test_an_empty_label_list_is_a_sample_without_labels(make_cfg, tmp_path):
    rows = ["a,tags"] + [f"{i},{'x|y' if i % 3 == 0 else ('y' if i % 3 == 1 else '')}" for i in range(30)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    bundle = build_bundle(make_cfg(*TABLE, f"dataset.path={tmp_path / 't.csv'}").dataset)
    targets = torch.cat([s.tensors[1] for s in (bundle.train, bundle.val, bundle.test)])
    assert sorted(targets.sum(1).tolist()).count(0.0) == 10


def test_a_table_run_tunes_its_thresholds_and_tests_with_them(train, tables):
    lists, _ = tables
    run_dir = train(*TABLE, f"dataset.path={lists}", "epochs=4", "task.thresholds=tune")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["test"]) == {
        f"test/{m}" for m in ("loss", "f1_macro", "f1_micro", "map", "subset_acc", "hamming")
    }
    assert summary["monitor"] == "val/map"
    tuned = json.loads((run_dir / "thresholds.json").read_text())
    assert sorted(tuned["thresholds"]) == sorted(LABELS) and tuned["tuned_on"] == "val"
    assert all(0 < t < 1 for t in tuned["thresholds"].values()) and set(tuned["thresholds"].values()) != {0.5}


@pytest.fixture(scope="module")
def canvas_run(tmp_path_factory):
    """The done-when run: 1,500 canvases of 2-4 digits, 20 epochs of a small CNN (~20 s here)."""
    cwd = tmp_path_factory.mktemp("canvas_run")
    digit_canvases(cwd / "canvas", n=1500)
    result = dlrun(
        *QUIET,
        "task=multilabel",
        "dataset=image_folder",
        "dataset.root=canvas",
        "dataset.labels_file=labels.csv",
        "model.channels=[32,64,128]",
        "lr=3e-3",
        "batch_size=32",
        "epochs=20",
        "task.thresholds=tune",
        "hydra.run.dir=run",
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd, cwd / "run", result


@pytest.mark.slow
def test_digit_canvases_reach_macro_f1_of_0_9_with_tuned_thresholds(canvas_run):
    _, run_dir, _ = canvas_run
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test"]["test/f1_macro"] >= 0.9, summary["test"]
    assert summary["test"]["test/map"] >= 0.95
    said = (run_dir / "train.log").read_text()
    assert "thresholds tuned per label on the validation split" in said
    assert "multilabel, 10 labels" in said  # the run's data line


@pytest.mark.slow
def test_predict_eval_and_export_use_the_tuned_thresholds(canvas_run, monkeypatch):
    cwd, run_dir, _ = canvas_run
    monkeypatch.chdir(cwd)  # the run names its data as the user typed it: canvas
    tuned = json.loads((run_dir / "thresholds.json").read_text())["thresholds"]
    labels = (cwd / "canvas" / "labels.csv").read_text().splitlines()[1:4]
    images = [str(cwd / "canvas" / line.split(",")[0]) for line in labels]
    predicted = dlrun("predict", str(run_dir), *images, "-o", "predictions.csv", cwd=cwd)
    assert predicted.returncode == 0, predicted.stderr
    assert "p_0" in predicted.stdout and "p_9" in predicted.stdout
    import csv

    with open(cwd / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:  # the chosen labels are those whose probability reaches their own threshold
        chosen = [d for d in map(str, range(10)) if float(row[f"p_{d}"]) >= tuned[d]]
        assert row["labels"] == "|".join(chosen)
    right = sum(row["labels"] == line.split(",")[1] for row, line in zip(rows, labels))
    assert right >= 2, (rows, labels)

    scored = evaluated(run_dir, cwd / "eval.json")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert scored["metrics"] == pytest.approx(summary["test"], abs=1e-9)
    assert scored["per_label"]["threshold"] == pytest.approx([tuned[str(d)] for d in range(10)])

    exported = dlrun("export", str(run_dir), "--format", "safetensors", cwd=cwd)
    assert exported.returncode == 0, exported.stderr
    meta = json.loads((run_dir / "export" / "model.json").read_text())
    assert meta["task"] == "multilabel" and meta["thresholds"] == [tuned[str(d)] for d in range(10)]
    assert "sigmoid" in meta["outputs"]


@pytest.mark.slow
def test_a_killed_multilabel_run_resumes_bit_identical(tables, tmp_path):
    lists, _ = tables
    args = (*QUIET, *TABLE, f"dataset.path={lists}", "epochs=3", "batch_size=16", "task.thresholds=tune")
    ref, resumed = killed_and_resumed(args, tmp_path, every_n_steps=5)
    assert json.loads((resumed / "thresholds.json").read_text()) == json.loads((ref / "thresholds.json").read_text())


@pytest.mark.slow
def test_two_processes_score_a_multilabel_split_as_one_does(tables, tmp_path):
    """Average precision needs every score: the rows are gathered from both processes, and the
    test metrics of the DDP run equal `dlrun eval` in one process on the same weights."""
    lists, _ = tables
    ddp, one = two_processes_and_one((*QUIET, *TABLE, f"dataset.path={lists}", "epochs=2"), tmp_path)
    for name in ("f1_macro", "f1_micro", "subset_acc", "hamming"):
        assert ddp[f"test/{name}"] == one[f"test/{name}"], name
    assert ddp["test/map"] == pytest.approx(one["test/map"], abs=1e-6)


def test_mixup_and_cutmix_mix_multi_hot_rows_as_they_mix_images():
    from omegaconf import OmegaConf
    from torch import nn

    from dlrun.datasets.batch_mix import build_mix
    from dlrun.datasets.info import DataInfo

    info = DataInfo("multilabel", 3, (1, 8, 8), ("a", "b", "c"))
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    images = torch.arange(4.0)[:, None, None, None].expand(4, 1, 8, 8).clone()
    for alpha in ("mixup_alpha", "cutmix_alpha"):
        mix = build_mix(OmegaConf.create({alpha: 1.0}), info, nn.BCEWithLogitsLoss())
        torch.manual_seed(0)
        mixed, soft = mix(images, targets)
        share = mixed[:, 0].mean((1, 2)) - torch.arange(4.0).roll(1)  # the share of its own image, per sample
        own = share / (torch.arange(4.0) - torch.arange(4.0).roll(1))
        assert torch.allclose(soft, own[:, None] * targets + (1 - own[:, None]) * targets.roll(1, 0), atol=1e-5)
