"""dlrun's metrics (sums on the device) against scikit-learn's, over several batches."""

import math

import pytest
import torch
from sklearn import metrics as sk

from dlrun.metrics.builtin import make_metrics, metric_names


def batched(metrics, outputs, targets, size=7):
    for start in range(0, len(targets), size):
        metrics.update(outputs[start : start + size], targets[start : start + size])
    return {k: v.tolist() if v.numel() > 1 else v.item() for k, v in metrics.compute().items()}


@pytest.mark.parametrize("classes", [3, 10, 24])
def test_classification_metrics_equal_scikit_learns(classes):
    generator = torch.Generator().manual_seed(classes)
    logits = torch.randn(101, classes, generator=generator)
    targets = torch.randint(0, classes - 1, (101,), generator=generator)  # one class never a target
    chosen = ["acc", "f1", "top5"] if classes > 5 else None
    got = batched(make_metrics("classification", classes, confusion=True, selection=chosen), logits, targets)
    predicted = logits.argmax(1)
    assert got["acc"] == pytest.approx(sk.accuracy_score(targets, predicted))
    assert got["f1"] == pytest.approx(sk.f1_score(targets, predicted, average="macro", zero_division=0))
    assert got["confusion"] == sk.confusion_matrix(targets, predicted, labels=list(range(classes))).tolist()
    if classes > 5:
        assert got["top5"] == pytest.approx(sk.top_k_accuracy_score(targets, logits, k=5, labels=list(range(classes))))
    else:
        assert "top5" not in got
    assert [f"val/{k}" for k in sorted(k for k in got if k != "confusion")] == metric_names(
        "classification", classes, selection=chosen
    )[1:]


def test_top5_is_a_default_metric_from_20_classes():
    assert "val/top5" not in metric_names("classification", 10)  # ~1 with 10 classes: says little
    assert "val/top5" in metric_names("classification", 20)


@pytest.mark.parametrize("outputs", [1, 3])
def test_regression_metrics_equal_scikit_learns(outputs):
    generator = torch.Generator().manual_seed(outputs)
    targets = torch.randn(53, outputs, generator=generator) * 4 + 2
    predicted = targets + torch.randn(53, outputs, generator=generator)
    if outputs == 1:
        targets, predicted = targets.squeeze(1), predicted.squeeze(1)
    got = batched(make_metrics("regression", outputs), predicted, targets)
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(targets, predicted), rel=1e-6)
    assert got["mse"] == pytest.approx(sk.mean_squared_error(targets, predicted), rel=1e-6)
    assert got["rmse"] == pytest.approx(math.sqrt(sk.mean_squared_error(targets, predicted)), rel=1e-6)
    assert got["r2"] == pytest.approx(sk.r2_score(targets, predicted, multioutput="uniform_average"), rel=1e-6)


def test_reset_starts_over_and_a_perfect_constant_target_scores_r2_of_one():
    metrics = make_metrics("regression", 1)
    metrics.update(torch.tensor([1.0, 5.0]), torch.tensor([0.0, 0.0]))
    metrics.reset()
    metrics.update(torch.tensor([2.0, 2.0]), torch.tensor([2.0, 2.0]))
    assert metrics.compute()["r2"].item() == 1.0 and metrics.compute()["mae"].item() == 0.0
