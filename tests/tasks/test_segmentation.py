"""task=segmentation: image and mask move together; the metrics equal a direct computation;
a U-Net learns generated shapes (test mean IoU >= 0.8), LR-ASPP trains an epoch, predict
writes mask PNGs, a killed run resumes bit-identical and two processes score like one."""

import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from dlrun.datasets import build_bundle
from tests.processes import dlrun
from tests.tasks.same_runs import evaluated, killed_and_resumed, two_processes_and_one
from tests.tasks.segmentation_data import CLASSES, shapes

QUIET = ("logger=none", "trainer.progress=none", "trainer.device=cpu")
UNET = ("dataset=segmentation_folder", "dataset.root=shapes", "model=unet", "lr=3e-3", "batch_size=16")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("segmentation")
    shapes(root / "shapes", n=400)
    shapes(root / "small", n=80, size=32, seed=1)  # for the runs that check how, not how well
    return root


def test_pixel_metrics_equal_a_direct_computation():
    from dlrun.metrics.builtin import make_metrics

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 4, 9, 7, generator=generator)
    targets = torch.randint(0, 4, (6, 9, 7), generator=generator)
    targets[:, 0, :] = -100  # ignored rows
    targets[targets == 3] = 2  # class 3 never a target
    metrics = make_metrics("segmentation", 4, details=True)
    for start_at in (0, 4):
        metrics.update(logits[start_at : start_at + 4], targets[start_at : start_at + 4])
    got = metrics.compute()
    predicted, kept = logits.argmax(1), targets >= 0
    ious, dices = [], []
    for c in range(4):
        p, t = (predicted == c) & kept, (targets == c) & kept
        if (p | t).any():
            ious.append((p & t).sum().item() / (p | t).sum().item())
            dices.append(2 * (p & t).sum().item() / (p.sum() + t.sum()).item())
    assert got["miou"].item() == pytest.approx(np.mean(ious), abs=1e-12)
    assert got["dice"].item() == pytest.approx(np.mean(dices), abs=1e-12)
    assert got["pixel_acc"].item() == pytest.approx(
        ((predicted == targets) & kept).sum().item() / kept.sum().item(), abs=1e-12
    )
    assert got["per_class"]["pixels"].tolist() == [int(((targets == c) & kept).sum()) for c in range(4)]


def test_image_and_mask_move_together_and_the_rim_is_ignored(make_cfg, folder):
    cfg = make_cfg(*UNET[:2], f"dataset.root={folder / 'shapes'}", "dataset.transforms.horizontal_flip=true").dataset
    bundle = build_bundle(cfg)
    assert (bundle.info.task, list(bundle.info.class_names), bundle.info.input_shape) == (
        "segmentation",
        CLASSES,
        (3, 64, 64),
    )
    torch.manual_seed(0)
    flips = set()
    for i in range(12):
        image, mask = bundle.train[i]
        assert mask.dtype == torch.int64 and mask.shape == (64, 64)
        assert set(mask.unique().tolist()) <= {-100, 0, 1, 2, 3}
        index = bundle.train.indices[i]
        raw = np.array(Image.open(bundle.train.base.samples[index][1]))
        expected = torch.from_numpy(raw.astype(np.int64)).masked_fill(torch.from_numpy(raw == 255), -100)
        flipped = torch.equal(mask, expected.flip(-1))
        assert flipped or torch.equal(mask, expected), "the mask is the file's, flipped with its image or not"
        flips.add(flipped and not torch.equal(expected, expected.flip(-1)))
        brightness = image.mean(0)  # shapes are brighter than their background: a misplaced mask is not
        assert brightness[mask > 0].mean() > brightness[mask == 0].mean() + 0.5, "the shapes sit where the mask says"
    assert flips == {True, False}, "some images were flipped, some not"


def test_your_own_dataset_of_images_and_masks(make_cfg, tmp_path):
    (tmp_path / "blobs.py").write_text(
        "import torch\n"
        "class Blobs(torch.utils.data.Dataset):\n"
        "    classes = ['sea', 'island']\n"
        "    def __len__(self): return 20\n"
        "    def __getitem__(self, i):\n"
        "        mask = torch.zeros(16, 16, dtype=torch.int64); mask[i % 8 : i % 8 + 6, 4:10] = 1\n"
        "        return (mask.float() * 200).expand(3, 16, 16).to(torch.uint8), mask\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        bundle = build_bundle(make_cfg("task=segmentation", "dataset=custom", "dataset.class_path=blobs.Blobs").dataset)
    finally:
        sys.path.remove(str(tmp_path))
    image, mask = bundle.train[0]
    assert bundle.info.task == "segmentation" and bundle.info.class_names == ("sea", "island")
    assert image.shape == (3, 16, 16) and mask.shape == (16, 16) and mask.sum() == 36


@pytest.fixture(scope="module")
def unet_run(folder):
    result = dlrun(*QUIET, *UNET, "epochs=15", "hydra.run.dir=unet", cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "unet"


@pytest.mark.slow
def test_a_unet_reaches_a_test_mean_iou_of_0_8_on_shapes(unet_run):
    summary = json.loads((unet_run / "summary.json").read_text())
    assert summary["test"]["test/miou"] >= 0.8, summary["test"]
    assert summary["monitor"] == "val/miou"


@pytest.mark.slow
def test_predict_writes_masks_and_eval_and_export_keep_the_spatial_form(unet_run, folder, monkeypatch):
    monkeypatch.chdir(folder)
    image = Image.open(folder / "shapes" / "images" / "0003.png").resize((96, 80))  # another size than trained
    image.save(folder / "bigger.png")
    predicted = dlrun(
        "predict", str(unet_run), "bigger.png", "shapes/images/0004.png", "--masks-dir", "out", cwd=folder
    )
    assert predicted.returncode == 0, predicted.stderr
    assert "share_circle" in predicted.stdout and "bigger_mask.png" in predicted.stdout
    mask = Image.open(folder / "out" / "bigger_mask.png")
    assert mask.mode == "P" and mask.size == (96, 80), "a palette mask at the input's own size"
    assert Image.open(folder / "out" / "bigger_overlay.png").size == (96, 80)
    truth = np.array(Image.open(folder / "shapes" / "masks" / "0004.png"))
    guess = np.array(Image.open(folder / "out" / "0004_mask.png"))
    kept = truth != 255
    assert (guess[kept] == truth[kept]).mean() > 0.95

    scored = evaluated(unet_run, folder / "eval.json")
    assert scored["metrics"] == pytest.approx(json.loads((unet_run / "summary.json").read_text())["test"], abs=1e-9)
    assert len(scored["per_class"]["iou"]) == 4
    exported = dlrun("export", str(unet_run), "--format", "safetensors", cwd=folder)
    assert exported.returncode == 0, exported.stderr
    meta = json.loads((unet_run / "export" / "model.json").read_text())
    assert meta["task"] == "segmentation" and meta["output_shape"] == [4, 64, 64]


@pytest.mark.slow
def test_lraspp_trains_an_epoch_on_the_same_folder(folder):
    result = dlrun(*QUIET, *UNET, "model=lraspp_mobilenet_v3_large", "epochs=1", "hydra.run.dir=lraspp", cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((folder / "lraspp" / "summary.json").read_text())
    assert 0 <= summary["test"]["test/miou"] <= 1 and summary["parameters"]["total"] > 3_000_000


@pytest.mark.slow
def test_a_killed_segmentation_run_resumes_bit_identical(folder, tmp_path):
    args = (*QUIET, *UNET[:1], f"dataset.root={folder / 'small'}", *UNET[2:], "epochs=3", "model.channels=[8,16]")
    killed_and_resumed((*args, "batch_size=8"), tmp_path, every_n_steps=2)


@pytest.mark.slow
def test_two_processes_give_the_one_process_metrics(folder, tmp_path):
    args = (*QUIET, *UNET[:1], f"dataset.root={folder / 'small'}", *UNET[2:], "epochs=2", "model.channels=[8,16]")
    ddp, one = two_processes_and_one(args, tmp_path)
    for name in ("miou", "pixel_acc", "dice"):  # counts over pixels: exactly equal
        assert ddp[f"test/{name}"] == one[f"test/{name}"], name
    # the loss is a mean of per-batch pixel means (ignored pixels left out), weighted by samples:
    # batches of other compositions weigh pixels slightly differently
    assert ddp["test/loss"] == pytest.approx(one["test/loss"], rel=1e-4)


def test_tensorboard_shows_test_images_with_their_true_and_predicted_masks(train, folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = train(
        "dataset=segmentation_folder",
        f"dataset.root={folder / 'small'}",
        "model=unet",
        "model.channels=[8,16]",
        "epochs=1",
        "logger=tensorboard",
    )
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    shown = [tag for tag in events.Tags()["images"] if tag.startswith("test/predictions/")]
    assert len(shown) == 4
    picture = events.Images(shown[0])[0]
    assert (picture.width, picture.height) == (3 * 32, 32), "image, true mask, predicted mask side by side"


@pytest.mark.slow
def test_a_served_mask_is_predicts_and_the_unet_exports_to_onnx(unet_run, folder):
    """`dlrun serve`: the mask PNG in the answer (at the upload's own size) is the one dlrun predict
    writes; `export --format onnx` passes its onnxruntime check."""
    import base64
    import io
    import re

    from tests.serve.server import Server

    Image.open(folder / "shapes" / "images" / "0007.png").resize((72, 56)).save(folder / "served.png")
    predicted = dlrun("predict", str(unet_run), "served.png", "--masks-dir", "served", cwd=folder)
    assert predicted.returncode == 0, predicted.stderr
    server = Server(unet_run, log=folder / "serve.log")
    try:
        answer = server.post(files={"file": ("served.png", (folder / "served.png").read_bytes())}).json()
    finally:
        server.stop()
    (served,) = answer["predictions"]
    mask = Image.open(io.BytesIO(base64.b64decode(served["mask_png"])))
    assert mask.mode == "P" and mask.size == (72, 56)
    assert np.array_equal(np.array(mask), np.array(Image.open(folder / "served" / "served_mask.png")))
    assert served["classes"] and served["share_background"] > 0

    exported = dlrun("export", str(unet_run), "--format", "onnx", "-o", "onnx", cwd=folder)
    assert exported.returncode == 0, exported.stderr
    figures = [float(f) for f in re.findall(r"batch \d+: ([0-9.e+-]+)", exported.stderr)]
    assert len(figures) == 2 and max(figures) <= 1e-4
