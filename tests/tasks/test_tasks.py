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
