"""trainer.metrics by name: the columns, best.pt chosen by the monitored one, and the values
equal to scikit-learn's on the same predictions."""

import csv
import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from dlrun import tasks
from dlrun.metrics.catalogue import resolve


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from dlrun.config.tree import conf_dir
    from dlrun.run import run

    run_dir = tmp_path_factory.mktemp("auroc") / "run"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                "logger=none",
                "trainer.progress=none",
                "trainer=cpu",
                "dataset=breast_cancer",
                "model=mlp",
                "epochs=4",
                "lr=3e-4",
                "trainer.metrics=[acc,auroc,precision,recall]",
                "trainer.monitor=val/auroc",
            ],
        )
    GlobalHydra.instance().clear()
    run(cfg, run_dir=run_dir, job={"overrides": []})
    return run_dir


def predictions(run_dir, split):
    """The best checkpoint's positive-class probabilities and the targets of `split`."""
    from dlrun import datasets
    from dlrun.runs.saved_run import load_run, rebuild_model

    saved = load_run(run_dir)
    loaders, _ = datasets.build(saved.cfg.dataset, saved.cfg.loader, seed=saved.cfg.seed, batch_size=64)
    model = rebuild_model(saved)
    with torch.no_grad():
        pairs = [(model(x).softmax(-1)[:, 1], y) for x, y in loaders[split]]
    return torch.cat([p for p, _ in pairs]).numpy(), torch.cat([y for _, y in pairs]).numpy()


def test_columns_best_checkpoint_and_scikit_learn(binary_run):
    from sklearn.metrics import precision_score, recall_score, roc_auc_score

    with open(binary_run / "metrics.csv") as f:
        table = list(csv.DictReader(f))
    assert list(table[0])[:7] == [
        "epoch",
        "train/loss",
        "val/loss",
        "val/acc",
        "val/auroc",
        "val/precision",
        "val/recall",
    ]
    summary = json.loads((binary_run / "summary.json").read_text())
    assert summary["monitor"] == "val/auroc" and summary["mode"] == "max"
    assert summary["best"]["value"] == max(float(row["val/auroc"]) for row in table)
    best_row = table[summary["best"]["epoch"] - 1]
    for split, values in (("val", {k: float(v) for k, v in best_row.items()}), ("test", summary["test"])):
        p, y = predictions(binary_run, split)
        assert values[f"{split}/auroc"] == pytest.approx(roc_auc_score(y, p), abs=1e-6)
        assert values[f"{split}/precision"] == pytest.approx(precision_score(y, p > 0.5), abs=1e-6)
        assert values[f"{split}/recall"] == pytest.approx(recall_score(y, p > 0.5), abs=1e-6)
        assert values[f"{split}/acc"] == pytest.approx(np.mean((p > 0.5) == y), abs=1e-6)


def test_eval_reports_the_chosen_metrics(binary_run, tmp_path):
    import argparse

    from dlrun.commands import eval as eval_command

    assert (
        eval_command.main(
            argparse.Namespace(
                run=str(binary_run),
                overrides=[],
                checkpoint="best",
                trust=[],
                split="test",
                output=str(tmp_path / "eval.json"),
            )
        )
        == 0
    )
    values = json.loads((tmp_path / "eval.json").read_text())["metrics"]
    recorded = json.loads((binary_run / "summary.json").read_text())["test"]
    assert values == pytest.approx(recorded, abs=1e-6) and "test/auroc" in values


@pytest.mark.parametrize(
    "task,classes",
    [("classification", 2), ("classification", 4), ("regression", 1), ("regression", 3), ("multilabel", 4)],
)
def test_every_catalogue_metric_computes(task, classes):
    """Each library metric, built for binary, multiclass, one and several outputs, gives one finite number."""
    from dlrun.metrics.builtin import make_metrics

    names = list(tasks.get(task).library_metrics)
    metrics = make_metrics(task, classes, selection=OmegaConf.create(names))
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        outputs = torch.randn(16, classes, generator=generator)
        if task == "classification":
            targets = torch.arange(16) % classes
        elif task == "multilabel":
            targets = (torch.arange(16 * classes).view(16, classes) % 3 == 0).float()
        else:
            targets = outputs + 0.3 * torch.randn(16, classes, generator=generator) + 2
            outputs, targets = (outputs.squeeze(-1), targets.squeeze(-1)) if classes == 1 else (outputs, targets)
        metrics.update(outputs, targets)
    values = metrics.compute()
    assert list(values) == names and all(v.numel() == 1 and torch.isfinite(v) for v in values.values())
    assert [e.name for e in resolve(names, task, classes)] == names
