"""The user's own Dataset class, user-added dataset YAML, and DataLoader options."""

import json
import textwrap

import pytest
import torch

from dlrun.errors import DlrunError

from . import fixtures

MY_DATA = '''
import torch
from torch.utils.data import Dataset


class Blobs(Dataset):
    """Two Gaussian blobs; `shift` moves them apart."""

    def __init__(self, n=200, shift=2.0, seed=0, train=True):
        g = torch.Generator().manual_seed(seed if train else seed + 100)
        self.targets = (torch.arange(n) % 2).tolist()
        self.x = torch.randn(n, 5, generator=g) + shift * torch.tensor(self.targets)[:, None]

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.x[i], self.targets[i]


class Line(Dataset):
    """y = 3 x0 - 2 x1 + 100 (regression), float targets, no targets attribute."""

    def __init__(self, n=300):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 2, generator=g)
        self.y = 3 * self.x[:, 0] - 2 * self.x[:, 1] + 100

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i].numpy(), float(self.y[i])


class Pictures(Dataset):
    """PIL images, as torchvision-style datasets return them."""

    def __init__(self, n=40):
        from PIL import Image
        import numpy as np
        rng = np.random.default_rng(0)
        self.targets = [i % 2 for i in range(n)]
        self.images = [Image.fromarray((rng.random((12, 12, 3)) * 60 + 150 * t).astype("uint8")) for t in self.targets]
        self.classes = ["dark", "bright"]

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.images[i], self.targets[i]
'''


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    (tmp_path / "my_data.py").write_text(MY_DATA)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    import sys

    sys.modules.pop("my_data", None)


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def test_custom_classification_with_kwargs_and_test_kwargs(train, user_dir):
    run_dir = train(
        "dataset=custom",
        "dataset.class_path=my_data.Blobs",
        "dataset.kwargs={n: 300, shift: 3.0}",
        "dataset.test_kwargs={train: false}",
        "model=mlp",
        "epochs=3",
        "loader.num_workers=0",
    )
    result = summary(run_dir)
    assert result["data"]["task"] == "classification" and result["data"]["input_shape"] == [5]
    assert result["test"]["test/acc"] > 0.9


def test_custom_regression_keeps_target_units(train, user_dir):
    run_dir = train(
        "dataset=custom",
        "dataset.class_path=my_data.Line",
        "loss=mse",
        "model=mlp",
        "epochs=20",
        "lr=3e-3",
        "loader.num_workers=0",
    )
    result = summary(run_dir)
    assert result["data"]["task"] == "regression"
    assert result["test"]["test/r2"] > 0.9, result["test"]


def test_custom_image_dataset_gets_the_image_pipeline(train, user_dir):
    run_dir = train(
        "dataset=custom",
        "dataset.class_path=my_data.Pictures",
        "model=cnn",
        "epochs=2",
        "batch_size=8",
        "loader.num_workers=0",
        "dataset.transforms.resize=16",
    )
    result = summary(run_dir)
    assert result["data"]["input_shape"] == [3, 16, 16] and result["data"]["class_names"] == ["dark", "bright"]


@pytest.mark.parametrize(
    "path,message",
    [
        ("Blobs", "is not an import path"),
        ("nowhere.Blobs", "module 'nowhere' not found"),
        ("my_data.Blob", "module my_data has no 'Blob'. Did you mean: Blobs"),
    ],
)
def test_custom_class_path_errors(make_cfg, user_dir, path, message):
    from dlrun import datasets

    with pytest.raises(DlrunError, match=message):
        datasets.build_bundle(make_cfg("dataset=custom", f"dataset.class_path={path}").dataset)


def test_custom_bad_kwargs(make_cfg, user_dir):
    from dlrun import datasets

    cfg = make_cfg("dataset=custom", "dataset.class_path=my_data.Blobs", "dataset.kwargs={colour: red}")
    with pytest.raises(DlrunError, match="unexpected keyword argument 'colour'.*dataset.kwargs"):
        datasets.build_bundle(cfg.dataset)


@pytest.mark.slow
def test_user_dataset_yaml_through_config_dir(dlrun_cli, user_dir):
    conf = user_dir / "conf" / "dataset"
    conf.mkdir(parents=True)
    (conf / "blobs.yaml").write_text(
        textwrap.dedent("""
        defaults:
          - custom
          - _self_
        class_path: my_data.Blobs
        kwargs: {n: 120}
    """)
    )
    result = dlrun_cli(
        "--config-dir", str(user_dir / "conf"), "dataset=blobs", "model=mlp", "epochs=1", "logger=none", cwd=user_dir
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = (user_dir / "outputs" / "runs").iterdir()
    assert summary(run_dir)["data"]["input_shape"] == [5]


@pytest.mark.parametrize("workers", [0, 2])
def test_same_seed_same_batches_with_workers(make_cfg, tmp_path, workers):
    """With random crops and flips, two builds with one seed give identical batches."""
    from dlrun import datasets
    from dlrun.training.seeding import seed_everything

    root = fixtures.image_tree(tmp_path / "pets", per_class=16)

    def batches(seed):
        seed_everything(seed)  # as run() does; with 0 workers the augmentation draws from torch's global RNG
        cfg = make_cfg(
            f"seed={seed}",
            "dataset=image_folder",
            f"dataset.root={root}",
            "dataset.transforms.resize=16",
            "dataset/transforms=augment",
            "dataset.transforms.random_crop=12",
            "dataset.transforms.resize=16",
            f"loader.num_workers={workers}",
            "loader.persistent_workers=false",  # workers that stop with their epoch: under pytest, persistent ones
        )  # left to the garbage collector waited out torch's 5 s join timeout each (not so in a dlrun process)
        loaders, _ = datasets.build(cfg.dataset, cfg.loader, seed=cfg.seed, batch_size=4)
        return [(x.clone(), y.clone()) for x, y in loaders["train"]]

    first, second, other = batches(1), batches(1), batches(2)
    assert len(first) == len(second) > 1
    for (x1, y1), (x2, y2) in zip(first, second):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, other))


def test_loader_options_reach_the_dataloader(make_cfg):
    from dlrun import datasets

    cfg = make_cfg(
        "loader.num_workers=2",
        "loader.prefetch_factor=4",
        "loader.drop_last=true",
        "loader.shuffle=false",
        "loader.pin_memory=true",
    )
    loaders, _ = datasets.build(cfg.dataset, cfg.loader, seed=0, batch_size=100)
    train = loaders["train"]
    assert (train.num_workers, train.prefetch_factor, train.drop_last, train.pin_memory) == (2, 4, True, True)
    assert train.persistent_workers is True
    assert isinstance(train.sampler, torch.utils.data.SequentialSampler)
    assert loaders["val"].drop_last is False


def test_auto_workers_depend_on_the_data(make_cfg, tmp_path):
    from dlrun.datasets.loader_options import loader_options

    cfg = make_cfg()
    assert loader_options(cfg.loader, in_memory=True, cuda=False)["num_workers"] == 0
    assert loader_options(cfg.loader, in_memory=False, cuda=False)["num_workers"] >= 1
    assert loader_options(cfg.loader, in_memory=True, cuda=True)["pin_memory"] is True


def test_tensors_in_memory_are_batched_by_a_seeded_permutation(make_cfg):
    from dlrun import datasets
    from dlrun.datasets.loaders import TensorBatches

    def build(seed, *overrides):
        cfg = make_cfg(f"seed={seed}", *overrides)
        return datasets.build(cfg.dataset, cfg.loader, seed=cfg.seed, batch_size=64)[0]

    loaders = build(1)
    train = loaders["train"]
    assert isinstance(train, TensorBatches) and all(isinstance(v, TensorBatches) for v in loaders.values())
    x_all, y_all = train.dataset.tensors
    state = train.generator.get_state()
    epoch = [(x.clone(), y.clone()) for x, y in train]
    assert len(epoch) == len(train) == -(-len(x_all) // 64)
    seen = torch.cat([x for x, _ in epoch])
    assert sorted(map(tuple, seen.flatten(1).tolist())) == sorted(
        map(tuple, x_all.flatten(1).tolist())
    )  # a permutation
    assert not torch.equal(seen, x_all)  # shuffled
    train.generator.set_state(state)  # as a resume does: the same epoch again
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(epoch, train))
    again = build(1)["train"]
    assert all(torch.equal(a[0], b[0]) for a, b in zip(epoch, again))  # the same seed, the same batches
    other = build(2)["train"]
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(epoch, other))
    val = [x for x, _ in loaders["val"]]
    assert torch.equal(torch.cat(val), loaders["val"].dataset.tensors[0])  # evaluation in order
    assert not isinstance(build(1, "loader.in_memory=false")["train"], TensorBatches)
    assert not isinstance(build(1, "loader.num_workers=1")["train"], TensorBatches)  # workers asked for


def test_a_final_batch_of_one_sample_is_dropped_as_with_a_dataloader(make_cfg):
    from torch.utils.data import TensorDataset

    from dlrun.datasets.loaders import TensorBatches, drops_last

    data = TensorDataset(torch.arange(65.0).unsqueeze(1), torch.zeros(65, dtype=torch.int64))
    batches = TensorBatches(
        data,
        batch_size=16,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        drop_last=drops_last(65, 16, True, False),
        device=None,
    )
    assert len(batches) == 4 and [len(x) for x, _ in batches] == [16] * 4


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            ["dataset.transforms.train_extra=[{_target_:torchvision.transforms.v2.RandomRotation,degrees:10}]"],
            "needs data held as tensors",
        ),
        (["loader.num_workers=2"], "it takes no DataLoader workers"),
    ],
)
def test_in_memory_true_where_it_cannot_apply(make_cfg, tmp_path, overrides, message):
    from dlrun import datasets

    root = fixtures.image_tree(tmp_path / "pets", per_class=8, size=8)
    from dlrun.checks import validate

    cfg = make_cfg("dataset=image_folder", f"dataset.root={root}", "loader.in_memory=true", *overrides)
    with pytest.raises(DlrunError, match=message):  # the config check, then the builder
        validate(cfg)
        datasets.build(cfg.dataset, cfg.loader, seed=0, batch_size=4)


def test_a_small_folder_is_held_as_tensors_and_crop_and_flip_run_per_batch(make_cfg, tmp_path):
    from torch.utils.data import TensorDataset

    from dlrun import datasets
    from dlrun.datasets.batch_augment import AugmentedTensors
    from dlrun.datasets.loaders import TensorBatches

    root = fixtures.image_tree(tmp_path / "pets", per_class=8, size=8)
    cfg = make_cfg("dataset=image_folder", f"dataset.root={root}")
    loaders, _ = datasets.build(cfg.dataset, cfg.loader, seed=0, batch_size=4)
    assert isinstance(loaders["train"], TensorBatches) and isinstance(loaders["train"].dataset, TensorDataset)

    def epochs(*overrides):
        cfg = make_cfg(
            "dataset=image_folder",
            f"dataset.root={root}",
            "dataset/transforms=augment",
            "dataset.transforms.resize=8",
            "dataset.transforms.random_crop=6",
            *overrides,
        )
        loaders, info = datasets.build(cfg.dataset, cfg.loader, seed=0, batch_size=4)
        return loaders, info, [[x.clone() for x, _ in loaders["train"]] for _ in range(2)]

    loaders, info, (first, second) = epochs()
    assert isinstance(loaders["train"].dataset, AugmentedTensors) and info.input_shape == (3, 6, 6)
    assert first[0].shape == (4, 3, 6, 6) and loaders["val"].dataset.tensors[0].shape[1:] == (3, 6, 6)
    assert not all(torch.equal(a, b) for a, b in zip(first, second))  # new crops and flips each epoch
    _, _, again = epochs()
    assert all(torch.equal(a, b) for a, b in zip(first, again[0]))  # the same seed, the same augmentations
    rotated, _, _ = epochs(
        "dataset.transforms.train_extra=[{_target_:torchvision.transforms.v2.RandomRotation,degrees:10}]"
    )
    assert not isinstance(rotated["train"], TensorBatches)  # the user's own steps: per sample


def test_batch_crop_and_flip_are_the_per_sample_steps():
    from dlrun.datasets.batch_augment import BatchAugment

    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    out = BatchAugment([4, 4], 1, False, None)(images, torch.Generator().manual_seed(3))
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    windows = [padded[i, :, r : r + 4, c : c + 4] for i in range(2) for r in range(3) for c in range(3)]
    assert all(any(torch.equal(out[i], w) for w in windows[i * 9 : (i + 1) * 9]) for i in range(2))
    flipped = BatchAugment(None, 0, True, ([1.0], [2.0]))(images, torch.Generator().manual_seed(0))
    for i in range(2):
        assert torch.equal(flipped[i], (images[i] - 1) / 2) or torch.equal(flipped[i], (images[i].flip(-1) - 1) / 2)


def test_extra_transforms_from_config(make_cfg, tmp_path):
    from torchvision.transforms import v2

    from dlrun import datasets

    root = fixtures.image_tree(tmp_path / "pets", per_class=6)
    cfg = make_cfg(
        "dataset=image_folder",
        f"dataset.root={root}",
        "dataset.transforms.resize=16",
        "dataset.transforms.train_extra=[{_target_: torchvision.transforms.v2.RandomRotation, degrees: 10}]",
        "dataset.transforms.eval_extra=[{_target_: torchvision.transforms.v2.Grayscale, num_output_channels: 3}]",
    )
    bundle = datasets.build_bundle(cfg.dataset)
    train_steps = [type(t) for t in bundle.train.transform.transforms]
    eval_steps = [type(t) for t in bundle.val.transform.transforms]
    assert v2.RandomRotation in train_steps and v2.RandomRotation not in eval_steps
    assert v2.Grayscale in eval_steps and train_steps[-1] is v2.Normalize  # extras come before normalising
    bad = make_cfg(
        "dataset=image_folder",
        f"dataset.root={root}",
        "dataset.transforms.train_extra=[{_target_: torchvision.transforms.v2.Rotate}]",
    )
    with pytest.raises(
        DlrunError,
        match="train_extra.0.._target_=.torchvision.transforms.v2.Rotate.: module torchvision.transforms.v2 has no .Rotate.",
    ):
        datasets.build_bundle(bad.dataset)


def test_normalisation_uses_training_statistics(make_cfg, tmp_path):
    from dlrun import datasets

    root = fixtures.image_tree(tmp_path / "pets", per_class=20)
    cfg = make_cfg("dataset=image_folder", f"dataset.root={root}", "dataset.transforms.resize=16")
    bundle = datasets.build_bundle(cfg.dataset)
    pixels = torch.stack([bundle.train[i][0] for i in range(len(bundle.train))])
    assert pixels.mean(dim=(0, 2, 3)).abs().max() < 0.05
    assert (pixels.std(dim=(0, 2, 3)) - 1).abs().max() < 0.05
