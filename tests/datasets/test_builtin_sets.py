"""Built-in data: seeded, stratified splits; same seed, same batches; clear errors."""

import pytest
import torch

from dlrun import datasets
from dlrun.errors import DlrunError


def build(make_cfg, *overrides, seed=0, batch_size=64):
    cfg = make_cfg(f"seed={seed}", *overrides)
    return datasets.build(cfg.dataset, cfg.loader, seed=cfg.seed, batch_size=batch_size)


def test_digits_splits(make_cfg):
    loaders, info = build(make_cfg)
    sizes = {k: len(v.dataset) for k, v in loaders.items()}
    assert sum(sizes.values()) == 1797 and sizes["test"] == 270 and sizes["val"] == 230  # 15 % of the rest
    assert info.task == "classification" and info.num_outputs == 10 and info.input_shape == (1, 8, 8)
    assert info.class_names == tuple("0123456789")
    x_train = loaders["train"].dataset.tensors[0]
    assert abs(x_train.mean().item()) < 1e-4 and abs(x_train.std().item() - 1) < 1e-2  # train-fitted scaling
    for split in ("val", "test"):  # stratified: every class is present in every split
        assert set(loaders[split].dataset.tensors[1].tolist()) == set(range(10))


def test_split_depends_on_the_seed_only(make_cfg):
    a, _ = build(make_cfg, seed=1)
    b, _ = build(make_cfg, seed=1)
    c, _ = build(make_cfg, seed=2)
    assert torch.equal(a["test"].dataset.tensors[0], b["test"].dataset.tensors[0])
    assert not torch.equal(a["test"].dataset.tensors[0], c["test"].dataset.tensors[0])


def test_same_seed_same_batches(make_cfg):
    def order(seed):
        loaders, _ = build(make_cfg, seed=seed)
        return [targets.tolist() for _, targets in loaders["train"]]

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_trailing_batch_of_one_is_dropped_for_batch_norm(make_cfg):
    loaders, _ = build(make_cfg, "dataset=synthetic", "dataset.n_samples=100", batch_size=7)
    n = len(loaders["train"].dataset)
    batch_sizes = [len(t) for _, t in loaders["train"]]
    assert min(batch_sizes) > 1
    if n % 7 == 1:
        assert sum(batch_sizes) == n - 1


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_synthetic(make_cfg, task):
    loaders, info = build(make_cfg, "dataset=synthetic", f"task={task}", "dataset.n_features=6")
    assert info.task == task and info.input_shape == (6,)
    _, targets = next(iter(loaders["train"]))
    if task == "regression":
        assert targets.dtype == torch.float32 and targets.shape[1] == 1
    else:
        assert targets.dtype == torch.int64 and info.num_outputs == 3


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["dataset.val_fraction=1.5"], "dataset.val_fraction=1.5 is not valid: use a fraction between 0 and 1"),
        (["dataset.test_fraction=0"], "dataset.test_fraction=0 is not valid"),
        (["dataset=synthetic", "dataset.task=ranking"], "dataset.task='ranking' is not valid"),
        (["dataset=synthetic", "dataset.n_classes=1"], "dataset.n_classes=1 is not valid: use a whole number >= 2"),
    ],
)
def test_bad_dataset_options(make_cfg, overrides, message):
    """One rule per key: the config check names the value, before anything is built."""
    from dlrun.checks import validate

    with pytest.raises(DlrunError, match=message):
        validate(make_cfg(*overrides))


def test_unknown_dataset_name(make_cfg):
    with pytest.raises(DlrunError, match="Unknown dataset 'digit'. Did you mean: digits"):
        build(make_cfg, "dataset.name=digit")


@pytest.mark.parametrize(
    "name,task,features",
    [
        ("iris", "classification", 4),
        ("wine", "classification", 13),
        ("breast_cancer", "classification", 30),
        ("diabetes", "regression", 10),
    ],
)
def test_bundled_tables_train(train, tmp_path, name, task, features):
    import json

    loss = "loss=mse" if task == "regression" else "loss=cross_entropy"
    run_dir = train(f"dataset={name}", "model=mlp", loss, "epochs=3", run_dir=tmp_path / name)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["data"]["task"] == task and summary["data"]["input_shape"] == [features]
    if task == "classification":
        assert summary["test"]["test/acc"] > 0.5
    else:
        assert summary["data"]["class_names"] is None and "test/r2" in summary["test"]
