"""dlrun's metrics (sums on the device) against scikit-learn's, over several batches."""

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from dlrun.metrics.builtin import make_metrics, metric_names


def batched(metrics, outputs, targets, size=7):
    for start in range(0, len(targets), size):
        metrics.update(outputs[start : start + size], targets[start : start + size])
    return {k: plain(v) for k, v in metrics.compute().items()}


def plain(value):
    if isinstance(value, dict):  # a table per label
        return {k: plain(v) for k, v in value.items()}
    return value.tolist() if value.numel() > 1 else value.item()


@pytest.mark.parametrize("classes", [3, 10, 24])
def test_classification_metrics_equal_scikit_learns(classes):
    generator = torch.Generator().manual_seed(classes)
    logits = torch.randn(101, classes, generator=generator)
    targets = torch.randint(0, classes - 1, (101,), generator=generator)  # one class never a target
    chosen = ["acc", "f1", "top5"] if classes > 5 else None
    got = batched(make_metrics("classification", classes, details=True, selection=chosen), logits, targets)
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


@pytest.mark.parametrize("thresholds", [None, [0.3, 0.5, 0.7, 0.5, 0.9]])
def test_multilabel_metrics_equal_scikit_learns(thresholds):
    """F1 (macro, micro), average precision per label (tied scores included), subset accuracy
    and Hamming loss at the run's thresholds, over several batches."""
    generator = torch.Generator().manual_seed(5)
    logits = (torch.randn(103, 5, generator=generator) * 2).round()  # few distinct scores: ties
    targets = (torch.rand(103, 5, generator=generator) < 0.4).float()
    targets[:, 1] = (logits[:, 1] > 0).float()  # one label the scores tell well
    metrics = make_metrics("multilabel", 5, details=True, thresholds=thresholds)
    got = batched(metrics, logits, targets)
    scores = logits.sigmoid().numpy()
    predicted = (scores >= np.array(thresholds or [0.5] * 5)).astype(int)
    y = targets.numpy().astype(int)
    assert got["f1_macro"] == pytest.approx(sk.f1_score(y, predicted, average="macro", zero_division=0), abs=1e-12)
    assert got["f1_micro"] == pytest.approx(sk.f1_score(y, predicted, average="micro"), abs=1e-12)
    per_label_ap = [sk.average_precision_score(y[:, j], scores[:, j]) for j in range(5)]
    assert got["per_label"]["ap"] == pytest.approx(per_label_ap, abs=1e-9)
    assert got["map"] == pytest.approx(np.mean(per_label_ap), abs=1e-9)
    assert got["subset_acc"] == pytest.approx(sk.accuracy_score(y, predicted), abs=1e-12)
    assert got["hamming"] == pytest.approx(sk.hamming_loss(y, predicted), abs=1e-12)
    assert got["per_label"]["support"] == y.sum(0).tolist()


def test_tuned_thresholds_give_each_label_its_best_f1_on_the_grid():
    from dlrun.metrics.thresholds import THRESHOLD_GRID, tune

    generator = torch.Generator().manual_seed(0)
    targets = torch.rand(200, 3, generator=generator) < 0.3
    scores = (targets.float() * 0.35 + torch.rand(200, 3, generator=generator) * 0.6).clamp(0, 1)
    targets[:, 2] = False  # no positives: keeps 0.5
    tuned = tune(scores, targets)
    assert tuned[2] == 0.5
    for label in (0, 1):
        y = targets[:, label].numpy()
        f1 = [sk.f1_score(y, scores[:, label].double().numpy() >= t, zero_division=0) for t in THRESHOLD_GRID.tolist()]
        chosen = sk.f1_score(y, scores[:, label].double().numpy() >= tuned[label], zero_division=0)
        assert chosen == pytest.approx(max(f1), abs=1e-12)
        assert chosen > sk.f1_score(y, scores[:, label].numpy() >= 0.5), "tuning helps on this data"
