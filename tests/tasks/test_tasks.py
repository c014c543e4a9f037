"""The tasks package: one unit per task, consulted by the config checks before torch loads."""

import subprocess
import sys

import pytest
import torch

from dlrun import tasks
from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError


def test_each_task_answers_for_itself():
    classification, regression = tasks.get("classification"), tasks.get("regression")
    assert classification.default_metrics(10) == ["acc", "f1"] and "top5" in classification.default_metrics(20)
    assert classification.default_monitor() == "val/acc" and classification.default_monitor(["f1"]) == "val/loss"
    assert regression.default_metrics(1) == ["mae", "mse", "r2", "rmse"] and regression.default_monitor() == "val/loss"
    assert classification.takes_class_indices and not regression.takes_class_indices
    assert (classification.outputs_text(1), regression.outputs_text(1)) == ("1 class", "1 target value")
    info = DataInfo("classification", 3, (4,), ("a", "b", "c"))
    (row,) = classification.readable(torch.tensor([[0.0, 2.0, 1.0]]), info)
    assert (row["class"], row["runner_up"]) == ("b", "c") and row["probability"] == pytest.approx(0.665, abs=1e-3)
    assert regression.readable(torch.tensor([[1.5], [2.5]]), info) == [{"value": 1.5}, {"value": 2.5}]


def test_an_unknown_task_names_the_known_ones():
    with pytest.raises(DlrunError, match="task 'clasification' is not known. Did you mean: classification"):
        tasks.get("clasification")


def test_the_tasks_package_loads_without_torch():
    code = "import sys, dlrun.tasks; assert 'torch' not in sys.modules, 'torch was imported'"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0


def test_multilabel_reads_probabilities_against_each_labels_threshold():
    multilabel = tasks.get("multilabel")
    assert multilabel.default_monitor() == "val/map" and not multilabel.takes_class_indices and multilabel.mixes_labels
    info = DataInfo("multilabel", 3, (4,), ("cat", "dog", "sun"))
    logits = torch.tensor([[2.0, 0.0, -2.0]])  # probabilities 0.88, 0.5, 0.12
    (row,) = multilabel.readable(logits, info)
    assert row["labels"] == "cat|dog" and row["p_sun"] == pytest.approx(0.1192, abs=1e-4)
    (row,) = multilabel.readable(logits, info, thresholds=[0.9, 0.4, 0.1])
    assert row["labels"] == "dog|sun"


@pytest.mark.parametrize("task", ["classification", "regression", "multilabel"])
def test_each_tasks_config_chooses_its_default_loss_and_the_user_overrides_it(make_cfg, task):
    chosen = make_cfg(f"task={task}", "dataset=synthetic")
    option = chosen.loss._target_.rsplit(".", 1)[-1]
    expected = {"cross_entropy": "CrossEntropyLoss", "mse": "MSELoss", "bce_with_logits": "BCEWithLogitsLoss"}
    assert option == expected[tasks.get(task).default_loss]
    assert make_cfg(f"task={task}", "dataset=synthetic", "loss=huber").loss._target_ == "torch.nn.HuberLoss"


def test_every_metric_says_which_way_is_better_for_search_and_monitor():
    from dlrun.metrics.catalogue import maximised

    assert [maximised(f"val/{m}") for m in ("f1_macro", "f1_micro", "map", "subset_acc", "hamming")] == [
        True,
        True,
        True,
        True,
        False,
    ]
