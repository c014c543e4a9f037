"""Data a user brings as files: torchvision's formats, image folders, CSV files.
Each trains end to end, offline, on files the test writes."""

import csv as csvlib
import json

import numpy as np
import pandas as pd
import pytest
import torchvision.datasets as tvd

from dlrun.errors import DlrunError

from . import fixtures

FAST = ("loader.num_workers=0", "epochs=2", "batch_size=16")


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def metrics(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csvlib.DictReader(f))


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST"), ("kmnist", "KMNIST")])
def test_mnist_family_from_idx_files(train, tmp_path, name, folder):
    fixtures.mnist_family(tmp_path / "data", folder)
    run_dir = train(f"dataset={name}", f"dataset.root={tmp_path / 'data'}", "dataset.download=false", *FAST)
    result = summary(run_dir)
    assert result["data"]["input_shape"] == [1, 28, 28] and result["data"]["num_outputs"] == 10
    assert result["data"]["class_names"][0].startswith(("0", "T", "o"))  # torchvision's own class names
    assert len(metrics(run_dir)) == 2


@pytest.mark.parametrize("cls", [tvd.CIFAR10, tvd.CIFAR100])
def test_cifar_from_pickled_batches(train, tmp_path, monkeypatch, cls):
    sums = fixtures.cifar(tmp_path / "data", cls)
    # torchvision checks each file's md5 against the real release; point it at the fixture's
    monkeypatch.setattr(cls, "train_list", [[n, sums[n]] for n, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[n, sums[n]] for n, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": sums[cls.meta["filename"]]})
    name = "cifar100" if "100" in cls.__name__ else "cifar10"
    run_dir = train(
        f"dataset={name}",
        f"dataset.root={tmp_path / 'data'}",
        "dataset.download=false",
        "dataset/transforms=augment",
        *FAST,
    )
    result = summary(run_dir)
    assert result["data"]["input_shape"] == [3, 32, 32]
    assert result["data"]["num_outputs"] == (100 if name == "cifar100" else 10)
    assert result["data"]["class_names"][:2] == ["class0", "class1"]


def test_svhn_from_mat_files(train, tmp_path, monkeypatch):
    sums = fixtures.svhn(tmp_path / "data")
    split_list = {k: [v[0], v[1], sums.get(k, v[2])] for k, v in tvd.SVHN.split_list.items()}
    monkeypatch.setattr(tvd.SVHN, "split_list", split_list)
    run_dir = train("dataset=svhn", f"dataset.root={tmp_path / 'data'}", "dataset.download=false", *FAST)
    assert summary(run_dir)["data"]["input_shape"] == [3, 32, 32]


def test_missing_files_offline_say_which_files_go_where(train, tmp_path):
    with pytest.raises(DlrunError) as err:
        train("dataset=mnist", f"dataset.root={tmp_path / 'empty'}", "dataset.download=false")
    message = str(err.value)
    assert str(tmp_path / "empty" / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert "dataset.download=true" in message and "DLRUN_DATA_DIR" in message


def test_default_root_follows_the_environment(make_cfg, monkeypatch, tmp_path):
    monkeypatch.setenv("DLRUN_DATA_DIR", str(tmp_path / "cache"))
    assert make_cfg("dataset=cifar10").dataset.root == str(tmp_path / "cache")
    monkeypatch.delenv("DLRUN_DATA_DIR")
    assert make_cfg("dataset=cifar10").dataset.root == "~/.cache/dlrun/data"


def test_image_folder_split_with_the_seed(train, tmp_path):
    root = fixtures.image_tree(tmp_path / "pets", per_class=20)
    run_dir = train(
        "dataset=image_folder", f"dataset.root={root}", "model=resnet18", "dataset.transforms.resize=[32,32]", *FAST
    )
    result = summary(run_dir)
    assert result["data"]["class_names"] == ["cat", "dog"]
    assert result["data"]["input_shape"] == [3, 32, 32]
    assert "test/acc" in result["test"]


def test_image_folder_with_train_val_test_folders(make_cfg, tmp_path):
    from dlrun import datasets

    for split, n in (("train", 10), ("val", 3), ("test", 4)):
        fixtures.image_tree(tmp_path / "pets" / split, per_class=n, seed=len(split))
    cfg = make_cfg("dataset=image_folder", f"dataset.root={tmp_path / 'pets'}", "dataset.transforms.resize=16")
    bundle = datasets.build_bundle(cfg.dataset)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (20, 6, 8)  # the folders as they are
    assert bundle.info.class_names == ("cat", "dog")


def test_images_of_one_size_train_at_that_size(make_cfg, tmp_path, caplog):
    from dlrun import datasets

    root = fixtures.image_tree(tmp_path / "pets", per_class=10, size=20)
    with caplog.at_level("INFO", logger="dlrun"):
        bundle = datasets.build_bundle(make_cfg("dataset=image_folder", f"dataset.root={root}").dataset)
    assert bundle.info.input_shape == (3, 20, 20)
    assert "images: all 20x20" in caplog.text and "trained at that size" in caplog.text


def test_images_of_mixed_sizes_are_resized_to_their_median_at_most_224(make_cfg, tmp_path, caplog):
    from PIL import Image

    from dlrun import datasets

    root = tmp_path / "mixed"
    for i, (height, width) in enumerate([(30, 40), (32, 48), (36, 50), (400, 300), (28, 44)] * 2):
        (root / ("ab"[i % 2])).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (width, height), (i * 20, 0, 0)).save(root / "ab"[i % 2] / f"{i}.png")
    with caplog.at_level("INFO", logger="dlrun"):
        bundle = datasets.build_bundle(
            make_cfg(
                "dataset=image_folder", f"dataset.root={root}", "dataset.val_fraction=0.2", "dataset.test_fraction=0.2"
            ).dataset
        )
    _, height, width = bundle.info.input_shape
    assert 28 <= height <= 36 and 40 <= width <= 50  # the median of the sampled training images, not 224
    assert f"all resized to {height}x{width}, their median size" in caplog.text
    big = tmp_path / "big"
    for i in range(6):
        (big / "ab"[i % 2]).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (600 + 10 * i, 450), (0, 0, 0)).save(big / "ab"[i % 2] / f"{i}.png")
    capped = datasets.build_bundle(
        make_cfg(
            "dataset=image_folder", f"dataset.root={big}", "dataset.val_fraction=0.2", "dataset.test_fraction=0.2"
        ).dataset
    )
    assert max(capped.info.input_shape[1:]) == 224
    explicit = datasets.build_bundle(
        make_cfg(
            "dataset=image_folder",
            f"dataset.root={big}",
            "dataset.transforms.resize=[20,30]",
            "dataset.val_fraction=0.2",
            "dataset.test_fraction=0.2",
        ).dataset
    )
    assert explicit.info.input_shape == (3, 20, 30)  # an explicit size wins


def test_a_small_folder_is_decoded_once_into_the_same_tensors(make_cfg, tmp_path, monkeypatch):
    import torch

    from dlrun import datasets
    from dlrun.datasets import image_files

    root = fixtures.image_tree(tmp_path / "pets", per_class=10, size=12)
    cfg = make_cfg(
        "dataset=image_folder",
        f"dataset.root={root}",  # the user's own random step: per sample
        "dataset.transforms.train_extra=[{_target_:torchvision.transforms.v2.RandomRotation,degrees:10}]",
    ).dataset
    decoded = datasets.build_bundle(cfg)
    assert isinstance(decoded.train.base, image_files.DecodedFolder) and decoded.in_memory
    monkeypatch.setattr(image_files, "DECODE_LIMIT", 0)  # as for a folder too big to hold: read every epoch
    from_files = datasets.build_bundle(cfg)
    assert not isinstance(from_files.train.base, image_files.DecodedFolder) and not from_files.in_memory
    for split in ("val", "test"):  # (training draws random rotations)
        a, b = getattr(decoded, split), getattr(from_files, split)
        assert len(a) == len(b)
        for i in range(len(a)):
            assert torch.equal(a[i][0], b[i][0]) and a[i][1] == b[i][1]


def damaged_folder(root):
    fixtures.image_tree(root, per_class=10, size=12)
    bad = root / "dog" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not the rest of a png")
    return bad


@pytest.mark.parametrize("decoded", [True, False])
def test_a_damaged_image_is_named_or_skipped_when_asked(make_cfg, tmp_path, monkeypatch, caplog, decoded):
    from dlrun import datasets
    from dlrun.datasets import image_files

    if not decoded:
        monkeypatch.setattr(image_files, "DECODE_LIMIT", 0)
    bad = damaged_folder(tmp_path / "pets")
    cfg = make_cfg("dataset=image_folder", f"dataset.root={bad.parents[1]}", "dataset.transforms.resize=[12,12]")
    with pytest.raises(DlrunError, match=f"{bad} is not an image that can be read.*dataset.skip_bad_files=true"):
        bundle = datasets.build_bundle(cfg.dataset)
        (
            [bundle.train[i] for i in range(len(bundle.train))]
            + [bundle.val[i] for i in range(len(bundle.val))]
            + [bundle.test[i] for i in range(len(bundle.test))]
        )
    cfg.dataset.skip_bad_files = True
    with caplog.at_level("WARNING", logger="dlrun"):
        bundle = datasets.build_bundle(cfg.dataset)
    assert len(bundle.train) + len(bundle.val) + len(bundle.test) == 20
    assert f"skipped (dataset.skip_bad_files=true): {bad} is not an image" in caplog.text


@pytest.mark.parametrize(
    "setup,message",
    [
        (lambda root: None, "no such folder"),
        (lambda root: root.mkdir(), "holds no images in class folders"),
        (lambda root: (root / "cat").mkdir(parents=True), "holds no images in class folders"),
        (lambda root: fixtures.image_tree(root, classes=("cat",)), "one class folder"),
    ],
)
def test_image_folder_errors(make_cfg, tmp_path, setup, message):
    from dlrun import datasets
    from dlrun.checks import validate

    root = tmp_path / "pets"
    setup(root)
    cfg = make_cfg("dataset=image_folder", f"dataset.root={root}")
    with pytest.raises(DlrunError, match=message):  # the config check, then the builder
        validate(cfg)
        datasets.build_bundle(cfg.dataset)


def houses(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 7, n)
    area = rng.uniform(30, 250, n)
    price = 50_000 + 2_500 * area + 20_000 * rooms + rng.normal(0, 10_000, n)
    frame = pd.DataFrame({"area": area, "rooms": rooms, "city": rng.choice(["Oslo", "Rome"], n), "price": price})
    frame.to_csv(path, index=False)
    return path


def test_csv_regression_reports_mse_mae_r2(train, tmp_path):
    path = houses(tmp_path / "houses.csv")
    run_dir = train(
        "dataset=csv",
        f"dataset.path={path}",
        "dataset.target=price",
        "loss=mse",
        "model=mlp",
        "epochs=30",
        "lr=3e-3",
        "loader.num_workers=0",
    )
    assert list(metrics(run_dir)[0])[2:7] == ["val/loss", "val/mae", "val/mse", "val/r2", "val/rmse"]
    result = summary(run_dir)
    assert result["data"]["task"] == "regression" and result["data"]["input_shape"] == [2]  # city skipped
    assert result["test"]["test/r2"] > 0.8, result["test"]
    assert 1_000 < result["test"]["test/mae"] < 60_000  # in the data's own units (price), not z-scores


def test_csv_string_labels_are_classes(train, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    species = np.where(x[:, 0] > 0, "setosa", "virginica")
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "species": species}).to_csv(tmp_path / "f.csv", index=False)
    run_dir = train(
        "dataset=csv",
        f"dataset.path={tmp_path / 'f.csv'}",
        "dataset.target=species",
        "model=mlp",
        "epochs=5",
        "loader.num_workers=0",
    )
    result = summary(run_dir)
    assert result["data"]["class_names"] == ["setosa", "virginica"]
    assert result["test"]["test/acc"] > 0.8


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["dataset.path=nope.csv", "dataset.target=price"], "no such file"),
        (["dataset.target=prize"], "'prize' is not a column of houses.csv. Did you mean: price?"),
        (["dataset.target=price", "dataset.features=[area,city]"], "city of houses.csv are not numeric"),
        (["dataset.target=price", "dataset.features=[area,price]"], "lists the target"),
        (["dataset.target=price", "dataset.val_fraction=1.5"], "dataset.val_fraction=1.5 is not valid"),
        (["dataset.target=price", "dataset.task=ranking"], "dataset.task='ranking' is not valid"),
    ],
)
def test_csv_errors(make_cfg, tmp_path, monkeypatch, overrides, message):
    from dlrun import datasets

    houses(tmp_path / "houses.csv")
    monkeypatch.chdir(tmp_path)
    from dlrun.checks import validate

    cfg = make_cfg("dataset=csv", "dataset.path=houses.csv", *overrides)
    with pytest.raises(DlrunError, match=message):  # the config check, then the builder
        validate(cfg)
        datasets.build_bundle(cfg.dataset)


def test_csv_task_inference(make_cfg, tmp_path):
    from dlrun import datasets

    frame = pd.DataFrame({"x": np.arange(100.0), "grade": np.arange(100) % 4, "score": np.arange(100) * 1.5})
    frame.to_csv(tmp_path / "t.csv", index=False)
    for target, task in (("grade", "classification"), ("score", "regression")):
        cfg = make_cfg(
            "dataset=csv", f"dataset.path={tmp_path / 't.csv'}", f"dataset.target={target}", "dataset.features=[x]"
        )
        assert datasets.build_bundle(cfg.dataset).info.task == task
    cfg = make_cfg(
        "dataset=csv",
        f"dataset.path={tmp_path / 't.csv'}",
        "dataset.target=grade",
        "dataset.features=[x]",
        "task=regression",
    )
    assert datasets.build_bundle(cfg.dataset).info.task == "regression"


class Unreadable(__import__("torch").utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        raise DlrunError("/data/x.png is not an image that can be read")


def test_an_error_in_a_loader_worker_keeps_its_own_message():
    from torch.utils.data import DataLoader

    from dlrun.errors import message

    with pytest.raises(DlrunError) as caught:
        next(iter(DataLoader(Unreadable(), num_workers=1)))
    assert "Traceback" in str(caught.value)  # what torch re-raises
    assert message(caught.value) == "/data/x.png is not an image that can be read"
