"""Shards: `dlrun data convert` writes an image folder as WebDataset-format tar shards (the same
bytes for the same data), `dataset=shards` trains from them (locally or over HTTP from a server on
127.0.0.1) to the folder's accuracy, every sample once per epoch over 2 processes x 2 workers,
and a run killed mid-epoch resumes to the uninterrupted run's weights."""

import json
import multiprocessing
import subprocess
import sys
import tarfile
import time
from contextlib import contextmanager

import numpy as np
import pytest
import requests
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from dlrun.datasets.shards.manifest import members, read_index
from dlrun.datasets.shards.samples import ShardWindows
from tests.engine.test_resume import metrics
from tests.processes import QUIET, cli_env, dlrun
from tests.serve.server import free_port
from tests.tasks.same_runs import evaluated, killed_and_resumed

pytestmark = pytest.mark.slow  # conversions and runs in processes of their own


@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory):
    """scikit-learn's digits as 1,797 8x8 PNGs in class folders, and their shards."""
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("shards")
    digits = load_digits()
    for i, (image, target) in enumerate(zip(digits.images, digits.target)):
        folder = root / "digits" / str(target)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 255 / 16).astype(np.uint8)).save(folder / f"{i:04d}.png")
    made = dlrun("data", "convert", "dataset=image_folder", "dataset.root=digits", "--output", "shards",
                 "--samples-per-shard", "200", "--workers", "2", cwd=root)  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    assert "train from them: dlrun dataset=shards dataset.url=shards" in made.stderr
    return root


def test_the_shards_hold_the_files_bytes_and_convert_is_deterministic(digits_folder):
    root = digits_folder
    manifest = json.loads((root / "shards" / "manifest.json").read_text())
    assert manifest["counts"] == {"train": 1297, "val": 230, "test": 270}  # as dataset=image_folder splits them
    assert manifest["classes"] == [str(d) for d in range(10)] and manifest["task"] == "classification"
    index = read_index(str(root / "shards"), manifest, "train")
    shard = manifest["splits"]["train"]["shards"][index["shard"][5]]
    (ext, offset, size), (cls, cls_at, cls_size) = members(index, 5, manifest["suffixes"])
    data = (root / "shards" / shard).read_bytes()
    target = int(data[cls_at : cls_at + cls_size])
    assert ext == "png" and cls == "cls" and manifest["kind"] == "image"
    with tarfile.open(root / "shards" / shard) as tar:  # plain tar, WebDataset's layout: key.png, key.cls
        names = tar.getnames()
        member = tar.getmember(names[10])
        assert member.name == f"{5:09d}.png" and tar.extractfile(member).read() == data[offset : offset + size]
        assert tar.extractfile(names[11]).read() == str(target).encode()
    import webdataset

    read = list(webdataset.WebDataset(str(root / "shards" / shard), shardshuffle=False))  # WebDataset's own reader
    assert read[5]["__key__"] == f"{5:09d}" and read[5]["cls"] == str(target).encode()
    assert read[5]["png"] == (root / "shards" / shard).read_bytes()[offset : offset + size]
    again = dlrun("data", "convert", "dataset=image_folder", "dataset.root=digits", "--output", "again",
                  "--samples-per-shard", "200", cwd=root)  # fmt: skip
    assert again.returncode == 0, again.stderr
    for path in sorted((root / "shards").glob("*.tar")):
        assert (root / "again" / path.name).read_bytes() == path.read_bytes(), path.name
    refused = dlrun("data", "convert", "dataset=image_folder", "dataset.root=digits", "--output", "shards", cwd=root)
    assert refused.returncode == 2 and "holds shards already" in refused.stderr


COMMON = (*QUIET, "epochs=5", "lr=3e-3")


@pytest.fixture(scope="module")
def local_run(digits_folder):
    """A run trained from the digits' shards on this disk, with two loader workers."""
    local = dlrun(*COMMON, "dataset=shards", f"dataset.url={digits_folder / 'shards'}", "loader.num_workers=2",
                  "hydra.run.dir=local", cwd=digits_folder)  # fmt: skip
    assert local.returncode == 0, local.stderr[-3000:]
    return digits_folder / "local"


def test_shards_train_to_the_folders_accuracy_and_over_http_and_s3_the_same(digits_folder, local_run):
    root, common = digits_folder, COMMON
    folder = dlrun(*common, "dataset=image_folder", "dataset.root=digits", "hydra.run.dir=folder", cwd=root)
    assert folder.returncode == 0, folder.stderr[-2000:]
    accuracy = {
        name: json.loads((root / name / "summary.json").read_text())["test"]["test/acc"] for name in ("folder", "local")
    }
    assert accuracy["local"] == pytest.approx(accuracy["folder"], abs=0.01) and accuracy["local"] > 0.9, accuracy

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/shards/manifest.json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        remote = dlrun(*common, "epochs=2", "dataset=shards", f"dataset.url=http://127.0.0.1:{port}/shards",
                       "loader.num_workers=2", "hydra.run.dir=remote", cwd=root)  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert metrics(root / "remote") == metrics(root / "local")[:2]  # the same bytes and order: the same epochs

    with s3_bucket(root / "shards", "digits") as env:  # moto's S3 server on 127.0.0.1, boto3's own settings
        bucket = dlrun(*common, "epochs=2", "dataset=shards", "dataset.url=s3://data/digits", "loader.num_workers=2",
                       "hydra.run.dir=bucket", cwd=root, env=env)  # fmt: skip
        missing = dlrun(*common, "dataset=shards", "dataset.url=s3://data/nothing", cwd=root, env=env)
    assert bucket.returncode == 0, bucket.stderr[-3000:]
    assert metrics(root / "bucket") == metrics(root / "local")[:2]  # its two epochs are the local run's first two
    assert missing.returncode == 2 and "dataset.url=s3://data/nothing: no readable manifest.json" in missing.stderr


@contextmanager
def s3_bucket(folder, prefix: str):
    """The files of `folder` under s3://data/<prefix>/ in moto's S3 server; the environment that reaches it."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    keys = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    try:
        client = boto3.client(
            "s3",
            endpoint_url=keys["AWS_ENDPOINT_URL"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket="data")
        for path in sorted(folder.iterdir()):
            client.upload_file(str(path), "data", f"{prefix}/{path.name}")
        yield {**cli_env(), **keys}
    finally:
        server.stop()


class Ids(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


@pytest.mark.parametrize("samples", [1000, 1001])
def test_every_sample_once_an_epoch_over_two_processes_of_two_workers(samples):
    shard_of = [i // 100 for i in range(samples)]  # 100 samples a shard
    for epoch in (1, 2):
        seen = []
        for rank in (0, 1):
            order = ShardWindows(shard_of, window=3, seed=7, shard=(rank, 2))
            order.set_epoch(epoch)
            loader = DataLoader(Ids(samples), batch_size=16, sampler=order, num_workers=2)
            seen += [int(i) for batch in loader for i in batch]
        counts = np.bincount(seen, minlength=samples)
        padded = ShardWindows(shard_of, 3, 7, shard=(0, 2)).padded
        assert padded == samples % 2 and sorted(set(seen)) == list(range(samples))
        assert (counts >= 1).all() and counts.sum() == samples + padded  # each once; an odd one: one repeat
    one = ShardWindows(shard_of, 3, 7)
    one.set_epoch(1)
    first = list(one)
    assert sorted(first) == list(range(samples)) and first != list(range(samples))
    assert len({shard_of[i] for i in first[:200]}) <= 3  # the first 200 samples come from one window of 3 shards


NUMBERED = """
import multiprocessing
import os
import torch

class Numbered(torch.utils.data.Dataset):  # sample i holds its own number
    def __len__(self):
        return {n}

    def __getitem__(self, i):
        return torch.tensor([float(i), 1.0]), i % 2

class Recorder(torch.nn.Module):  # writes down the numbers it trains on, a file per process
    def __init__(self, num_classes):
        super().__init__()
        with open(f"start-{{os.getpid()}}.txt", "w") as f:  # how this rank's loader workers will start
            f.write(multiprocessing.get_start_method())
        self.layer = torch.nn.Linear(2, num_classes)

    def forward(self, x):
        if self.training:
            with open(f"seen-{{os.getpid()}}.txt", "a") as f:
                f.write("".join(f"{{int(v)}}\\n" for v in x[:, 0].tolist()))
        return self.layer(x)
"""


def test_two_training_processes_of_two_workers_see_every_sample_once_an_epoch(tmp_path, samples=1002):
    """The real thing: shards of numbered samples, `trainer.devices=2 loader.num_workers=2`, a model
    that writes down the numbers each process trains on (an odd number of them: one is repeated, as
    DistributedSampler repeats one, and said)."""
    (tmp_path / "numbered.py").write_text(NUMBERED.format(n=samples))
    made = dlrun("data", "convert", "task=classification", "dataset=custom", "dataset.class_path=numbered.Numbered",
                 "dataset.val_fraction=0.01", "dataset.test_fraction=0.01", "--output", "shards",
                 "--samples-per-shard", "64", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    train = json.loads((tmp_path / "shards" / "manifest.json").read_text())["counts"]["train"]
    run = dlrun(*QUIET, "epochs=1", "batch_size=16", "dataset=shards", "dataset.url=shards", "model=custom",
                "model.class_path=numbered.Recorder", "trainer.devices=2", "loader.num_workers=2",
                "hydra.run.dir=run", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    files = sorted(tmp_path.glob("seen-*.txt"))
    assert len(files) == 2  # two training processes (the workers only read)
    starts = {path.read_text() for path in tmp_path.glob("start-*.txt")}
    assert starts == {multiprocessing.get_start_method()}  # as in one process: not spawn, a fresh interpreter each
    seen = [int(line) for file in files for line in file.read_text().split()]
    counts = np.bincount(seen)
    trained = np.flatnonzero(counts)
    assert len(trained) == train and counts.sum() == train + train % 2, (len(trained), train, counts.sum())
    assert counts.max() == 1 + train % 2 and (counts[trained] == 1).sum() >= train - train % 2
    assert train % 2 and "1 repeated each epoch" in (tmp_path / "run" / "train.log").read_text()


@pytest.mark.parametrize("workers, processes", [(0, 1), (1, 2)])
def test_a_killed_shard_run_resumes_to_the_same_weights(digits_folder, tmp_path, workers, processes):
    """Without loader workers in one process, and with a worker in each of two processes (whose
    test metrics are also `dlrun eval`'s in one process: every test sample scored once)."""
    args = (*QUIET, "epochs=2", "batch_size=16", "dataset=shards", f"dataset.url={digits_folder / 'shards'}",
            f"loader.num_workers={workers}", f"trainer.devices={processes}")  # fmt: skip
    reference, _ = killed_and_resumed(args, tmp_path, every_n_steps=5)  # 82 batches an epoch (41 a process)
    if processes == 2:
        summary = json.loads((reference / "summary.json").read_text())
        assert summary["distributed"]["world_size"] == 2
        single = evaluated(reference, tmp_path / "eval.json")["metrics"]
        assert summary["test"] == pytest.approx(single, abs=1e-6)


def test_tables_and_texts_convert_as_their_tensors(tmp_path):
    """A table (standardised features) and texts (token ids, the run's tokenizer) converted by the CLI
    as shards of tensors (test_shard_kinds compares the table's samples with the table run's), and a
    text run from them trains and predicts with the converted data's tokenizer."""
    from tests.inputs.text_data import topic_table

    for args in (("dataset=wine",), ("dataset=text", "dataset.text=sentence", "dataset.target=topic",
                                      f"dataset.path={topic_table(tmp_path / 'topics.csv', n=300)}")):  # fmt: skip
        name = args[0].split("=")[1]
        made = dlrun("data", "convert", *args, "--output", f"{name}_shards", "--samples-per-shard", "64", cwd=tmp_path)
        assert made.returncode == 0, made.stderr[-3000:]
    manifest = json.loads((tmp_path / "wine_shards" / "manifest.json").read_text())
    assert manifest["kind"] == "tensors" and manifest["info"]["preprocess"]["kind"] == "table"

    text = dlrun(*QUIET, "dataset=shards", f"dataset.url={tmp_path / 'text_shards'}", "model=text_cnn", "epochs=1",
                 "hydra.run.dir=text_from_shards", cwd=tmp_path)  # fmt: skip
    assert text.returncode == 0, text.stderr[-3000:]
    assert (tmp_path / "text_from_shards" / "tokenizer.json").is_file()  # the converted data's own tokenizer
    said = dlrun("predict", str(tmp_path / "text_from_shards"), "--text", "The team won the league", cwd=tmp_path)
    assert said.returncode == 0, said.stderr


def test_an_image_shards_run_predicts_and_exports(digits_folder, local_run, tmp_path):
    image = sorted((digits_folder / "digits" / "3").glob("*.png"))[0]
    predicted = dlrun("predict", str(local_run), str(image), cwd=tmp_path)
    assert predicted.returncode == 0 and image.name in predicted.stdout, predicted.stderr
    exported = dlrun("export", str(local_run), "--format", "onnx", cwd=tmp_path)
    assert exported.returncode == 0 and "onnx check" in exported.stderr, exported.stderr
    card = json.loads((local_run / "export" / "model.json").read_text())
    assert card["input"]["kind"] == "image" and card["input"]["mode"] == "RGB"


def test_masks_boxes_and_clips_train_from_their_shards_search_and_predict(tmp_path):
    """Segmentation folders (an Optuna search of two trials), COCO boxes and audio clips: each
    converted by the CLI, trained from its shards, and its run predicts a file of the source data."""
    from tests.inputs.audio_data import clip_folder
    from tests.tasks import detection_data, segmentation_data

    segmentation_data.shapes(tmp_path / "seg", n=40, size=32)
    detection_data.shapes(tmp_path / "det", n=12, sizes=(48, 48), objects=(1, 2), sides=(0.3, 0.5))
    clip_folder(tmp_path / "clips", per_class=6, seconds=1.2)
    for name, args in (("seg", ("dataset=segmentation_folder", "dataset.root=seg")),
                       ("det", ("task=detection", "dataset=coco", "dataset.root=det")),
                       ("clips", ("dataset=audio_folder", "dataset.root=clips"))):  # fmt: skip
        made = dlrun("data", "convert", *args, "--output", f"{name}_shards", "--samples-per-shard", "8", cwd=tmp_path)
        assert made.returncode == 0, made.stderr[-3000:]
    kinds = {
        n: json.loads((tmp_path / f"{n}_shards" / "manifest.json").read_text())["kind"] for n in ("seg", "det", "clips")
    }
    assert kinds == {"seg": "segmentation", "det": "detection", "clips": "audio"}

    search = dlrun("-m", "hydra/sweeper=optuna", "task=segmentation", "lr=tag(log, interval(1e-4, 1e-2))", "hydra.sweeper.n_trials=2",
                   *QUIET, "dataset=shards", "dataset.url=seg_shards", "model=unet", "epochs=1", "batch_size=8",
                   "hydra.sweep.dir=search", cwd=tmp_path)  # fmt: skip
    assert search.returncode == 0, search.stderr[-3000:]
    for trial in ("0", "1"):
        assert "test/miou" in json.loads((tmp_path / "search" / trial / "summary.json").read_text())["test"]
    masks = dlrun("predict", "search/0", str(sorted((tmp_path / "seg" / "images").iterdir())[0]), cwd=tmp_path)
    assert masks.returncode == 0 and "wrote 1 mask" in masks.stderr + masks.stdout, masks.stderr

    boxes = dlrun(*QUIET, "task=detection", "dataset=shards", "dataset.url=det_shards",
                  "model=fasterrcnn_mobilenet_v3_large_320_fpn", "model.kwargs={min_size:64,max_size:64}",
                  "optimizer=sgd", "lr=0.01", "batch_size=4", "epochs=1", "hydra.run.dir=det_run", cwd=tmp_path)  # fmt: skip
    assert boxes.returncode == 0, boxes.stderr[-3000:]
    assert "test/map" in json.loads((tmp_path / "det_run" / "summary.json").read_text())["test"]
    drawn = dlrun("predict", "det_run", str(tmp_path / "det" / "images" / "0000.png"), cwd=tmp_path)
    assert drawn.returncode == 0 and "with their boxes drawn" in drawn.stderr + drawn.stdout, drawn.stderr

    clips = dlrun(*QUIET, "dataset=shards", "dataset.url=clips_shards", "epochs=1", "hydra.run.dir=clips_run",
                  cwd=tmp_path)  # fmt: skip
    assert clips.returncode == 0, clips.stderr[-3000:]
    clip = sorted((tmp_path / "clips" / "chirp").iterdir())[0]
    heard = dlrun("predict", "clips_run", str(clip), "--output", "heard.csv", cwd=tmp_path)
    assert heard.returncode == 0, heard.stderr
    row = (tmp_path / "heard.csv").read_text().splitlines()[1].split(",")
    assert row[0] == clip.name and row[1] in {"chirp", "high_tone", "low_tone", "noise_burst"}, row
