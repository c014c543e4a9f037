"""task=detection: boxes move with their image; the same shapes from COCO and YOLO files train to the
same metrics; dlrun's mAP is pycocotools' COCOeval on the same predictions; predict draws boxes and
writes COCO results; export scripts the detector; a killed run resumes bit-identical and two
processes score like one. The data is tiny: these check the mechanics (bench/ and the README
hold what a detector learns)."""

import json
import logging
import sys

import numpy as np
import pytest
import torch

from dlrun.datasets import build_bundle
from tests.engine.test_resume import metrics
from tests.processes import dlrun
from tests.tasks.detection_data import BLOCKS, CLASSES, shapes
from tests.tasks.same_runs import evaluated, killed_and_resumed, two_processes_and_one

QUIET = ("logger=none", "trainer.progress=none", "trainer.device=cpu")
DETECTOR = (
    "task=detection",
    "model=fasterrcnn_mobilenet_v3_large_320_fpn",
    "model.kwargs={min_size:64,max_size:64}",
    "optimizer=sgd",
    "lr=0.01",
    "batch_size=4",
)
COCO = ("dataset=coco", "dataset.root=shapes")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("detection")
    shapes(root / "shapes", n=32, sizes=(64, 96), objects=(1, 3), sides=(0.25, 0.5), negatives=2)
    shapes(root / "small", n=16, sizes=(48, 48), objects=(1, 2), sides=(0.3, 0.5), seed=1)  # for the resume
    return root


@pytest.fixture(scope="module")
def coco_run(folder):
    result = dlrun(*QUIET, *DETECTOR, *COCO, "epochs=1", "hydra.run.dir=coco_run", cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "coco_run"


@pytest.mark.slow
def test_the_same_shapes_from_coco_and_yolo_files_train_to_the_same_metrics(folder, coco_run):
    result = dlrun(
        *QUIET, *DETECTOR, "dataset=yolo", "dataset.root=shapes", "epochs=1", "hydra.run.dir=yolo", cwd=folder
    )
    assert result.returncode == 0, result.stderr[-3000:]
    coco, yolo = (json.loads((run / "summary.json").read_text()) for run in (coco_run, folder / "yolo"))
    assert coco["test"] == yolo["test"] and metrics(coco_run) == metrics(folder / "yolo"), "every epoch's figures"
    assert float(metrics(coco_run)[0]["train/loss_box_reg"]) > 0, "the same losses, not merely zeros alike"
    assert set(coco["test"]) == {
        f"test/{n}" for n in ("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_100")
    }
    header = (coco_run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:6] == [
        "epoch",
        "train/loss",
        "train/loss_classifier",
        "train/loss_box_reg",
        "train/loss_objectness",
        "train/loss_rpn_box_reg",
    ]
    assert "val/loss" not in header and "val/map" in header, "torchvision's detectors have no loss in evaluation"


def test_boxes_move_with_their_image(make_cfg, folder):
    cfg = make_cfg("task=detection", "dataset=coco", f"dataset.root={folder / 'shapes'}").dataset
    bundle = build_bundle(cfg)
    assert (bundle.info.task, bundle.info.class_names, bundle.info.label_ids) == (
        "detection",
        tuple(CLASSES),
        (1, 2, 3),
    )
    coco = json.loads((folder / "shapes" / "annotations.json").read_text())
    torch.manual_seed(0)
    flips = set()
    for i in range(10):
        image, target = bundle.train[i]
        sample = bundle.train.base.samples[bundle.train.indices[i]]
        entry = next(e for e in coco["images"] if sample.path.endswith(e["file_name"]))
        truth = torch.tensor(
            [
                [x, y, x + w, y + h]
                for a in coco["annotations"]
                if a["image_id"] == entry["id"]
                for x, y, w, h in [a["bbox"]]
            ],
            dtype=torch.float32,
        ).reshape(-1, 4)
        width = image.shape[-1]
        mirrored = torch.stack([width - truth[:, 2], truth[:, 1], width - truth[:, 0], truth[:, 3]], 1)
        flipped = torch.equal(target["boxes"], mirrored)
        assert flipped or torch.equal(target["boxes"], truth), "the boxes are the file's, flipped with the image or not"
        for box in target["boxes"].round().long().tolist():  # a shape is brighter than its background
            x1, y1, x2, y2 = box
            inside = image[:, y1:y2, x1:x2].mean()
            assert inside > image.mean(), "the box sits on its shape"
        assert image.dtype == torch.float32 and 0 <= image.min() and image.max() <= 1
        flips.add(flipped and not torch.equal(truth, mirrored))
    assert flips == {True, False}, "some images were flipped, some not"


def test_empty_degenerate_and_outside_boxes_are_left_out_with_a_count(caplog):
    from dlrun.datasets.detection.samples import Annotated, sanitise

    boxes = np.array([[2, 2, 10, 10], [5, 5, 5, 9], [40, 40, 50, 50], [-4, 3, 8, 12]], dtype=np.float32)
    sample = Annotated(
        "a.png",
        boxes,
        np.array([0, 1, 2, 0]),
        (32, 32),
        ["annotation 1", "annotation 2", "annotation 3", "annotation 4"],
    )
    with caplog.at_level(logging.WARNING, logger="dlrun"):
        (kept,) = sanitise([sample], "dataset")
    assert kept.boxes.tolist() == [[2, 2, 10, 10], [0, 3, 8, 12]] and kept.labels.tolist() == [0, 0]
    assert "2 boxes of 4 are empty, degenerate or outside their image" in caplog.text
    assert "annotation 2 of a.png" in caplog.text and "1 box reaching outside their image: clipped" in caplog.text


def test_map_equals_pycocotools_cocoeval_on_the_same_predictions(tmp_path):
    """Ground truth with COCO's own ids (categories 5, 9, 17; images 101 ...) and random
    detections, scored by COCOeval from the files, and by dlrun's metric from the batches."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from dlrun.metrics.builtin import make_metrics
    from dlrun.tasks.detection import COCO_STATS

    rng = np.random.default_rng(0)
    categories = [5, 9, 17]
    images, annotations, results, outputs, targets = [], [], [], [], []
    for n in range(12):
        image_id = 101 + 3 * n
        images.append({"id": image_id, "file_name": f"{n}.png", "width": 200, "height": 200})
        truth = []
        for _ in range(rng.integers(0 if n == 4 else 1, 5)):  # image 4 may have no objects
            x, y = rng.uniform(0, 120, 2)
            w, h = rng.uniform(5, 80, 2)
            label = int(rng.integers(0, 3))
            truth.append(([x, y, x + w, y + h], label))
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": categories[label],
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        found = []
        for (x1, y1, x2, y2), label in truth:  # near misses, wrong classes and false alarms
            jitter = rng.normal(0, 6, 4)
            found.append(
                (
                    [x1 + jitter[0], y1 + jitter[1], x2 + jitter[2], y2 + jitter[3]],
                    label if rng.random() < 0.8 else int(rng.integers(0, 3)),
                    float(rng.random()),
                )
            )
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 150, 2)
            found.append(([x, y, x + 30, y + 25], int(rng.integers(0, 3)), float(rng.random() * 0.5)))
        for box, label, score in found:
            results.append(
                {
                    "image_id": image_id,
                    "category_id": categories[label],
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    "score": score,
                }
            )
        targets.append(
            {
                "boxes": torch.tensor([b for b, _ in truth], dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor([lab for _, lab in truth], dtype=torch.int64),
            }
        )
        outputs.append(
            {
                "boxes": torch.tensor([b for b, _, _ in found], dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor([lab for _, lab, _ in found], dtype=torch.int64),
                "scores": torch.tensor([s for _, _, s in found], dtype=torch.float32),
            }
        )
    (tmp_path / "truth.json").write_text(
        json.dumps(
            {
                "images": images,
                "annotations": annotations,
                "categories": [{"id": c, "name": str(c)} for c in categories],
            }
        )
    )
    truth = COCO(str(tmp_path / "truth.json"))
    evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
    evaluation.evaluate(), evaluation.accumulate(), evaluation.summarize()

    metrics = make_metrics("detection", 3, selection=list(COCO_STATS))
    for start in range(0, 12, 5):  # batches of 5, 5, 2
        metrics.update(outputs[start : start + 5], targets[start : start + 5])
    got = metrics.compute()
    # float32 boxes (as a detector gives them) against COCOeval's float64 ones: equal to float32's precision
    assert [got[name].item() for name in COCO_STATS] == pytest.approx(evaluation.stats.tolist(), abs=1e-6)
    assert got["map_50"].item() > 0.3, "a fair share of the jittered boxes match"


@pytest.mark.slow
def test_predict_draws_boxes_and_writes_coco_results_eval_and_export(coco_run, folder, monkeypatch):
    from PIL import Image

    result = dlrun(
        "predict",
        str(coco_run),
        "shapes/images/0000.png",
        "shapes/images/0031.png",
        "--score-threshold",
        "0",
        "--json",
        "boxes.json",
        "--pictures-dir",
        "drawn",
        "-o",
        "boxes.csv",
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((folder / "boxes.json").read_text())
    assert results and {r["file_name"] for r in results} <= {"0000.png", "0031.png"}
    assert {r["category_id"] for r in results} <= {1, 2, 3} and all(len(r["bbox"]) == 4 for r in results)
    assert len((folder / "boxes.csv").read_text().splitlines()) == len(results) + 1 + (
        0 if {r["file_name"] for r in results} == {"0000.png", "0031.png"} else 1
    )
    drawn = np.asarray(Image.open(folder / "drawn" / "0000_boxes.png"))
    original = np.asarray(Image.open(folder / "shapes" / "images" / "0000.png").convert("RGB"))
    assert drawn.shape == original.shape and (drawn != original).any(), "boxes drawn on the image at its own size"

    monkeypatch.chdir(folder)  # the run's dataset.root is relative
    scored = evaluated(coco_run, folder / "eval.json")
    assert scored["metrics"] == pytest.approx(json.loads((coco_run / "summary.json").read_text())["test"], abs=1e-12)
    assert list(scored["per_class"]) == ["ap", "ap_50", "boxes"] and len(scored["per_class"]["ap"]) == 3

    exported = dlrun("export", str(coco_run), cwd=folder)
    assert exported.returncode == 0, exported.stderr
    meta = json.loads((coco_run / "export" / "model.json").read_text())
    assert (
        meta["task"] == "detection"
        and meta["label_ids"] == [1, 2, 3]
        and meta["files"] == ["model.torchscript.pt", "model.safetensors"]
    )
    scripted = torch.jit.load(str(coco_run / "export" / "model.torchscript.pt"))
    image = torch.from_numpy(original.copy()).permute(2, 0, 1).float() / 255
    found = scripted([image])[0]
    assert set(found) == {"boxes", "labels", "scores"} and found["boxes"].shape[-1] == 4
    assert set(found["labels"].tolist()) <= {0, 1, 2}, "dlrun's class indices, not torchvision's 1 .. K"
    refused = dlrun("export", str(coco_run), "--format", "exported", cwd=folder)
    assert refused.returncode != 0 and "torch.export cannot export torchvision's detectors" in refused.stderr


def test_your_own_dataset_of_images_with_boxes(make_cfg, tmp_path):
    (tmp_path / "blocks.py").write_text(BLOCKS)
    sys.path.insert(0, str(tmp_path))
    try:
        cfg = make_cfg(
            "task=detection", "dataset=custom", "dataset.class_path=blocks.Blocks", "dataset/transforms=detection"
        )
        bundle = build_bundle(cfg.dataset)
    finally:
        sys.path.remove(str(tmp_path))
    assert bundle.info.task == "detection" and bundle.info.class_names == ("block",)
    image, target = bundle.val[0]
    assert image.shape == (3, 40, 48) and target["boxes"].shape[-1] == 4 and target["labels"].dtype == torch.int64
    batch, targets = bundle.collate([bundle.train[0], bundle.train[1]])
    assert len(batch) == len(targets) == 2 and batch.targets is not None


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "fasterrcnn_mobilenet_v3_large_fpn",
        "fasterrcnn_resnet50_fpn",
        "fasterrcnn_resnet50_fpn_v2",
        "retinanet_resnet50_fpn",
        "retinanet_resnet50_fpn_v2",
        "fcos_resnet50_fpn",
        "ssd300_vgg16",
        "ssdlite320_mobilenet_v3_large",
    ],
)
def test_every_detector_trains_a_step_and_detects(name):
    from omegaconf import OmegaConf

    from dlrun.datasets.detection.samples import ImageBatch, TargetBatch
    from dlrun.datasets.info import DataInfo
    from dlrun.models.torchvision_detection import build
    from dlrun.training.detection_loss import DetectorLosses

    info = DataInfo("detection", 3, (3, 64, 64), ("a", "b", "c"))
    sizes = {} if name.startswith("ssd") else {"min_size": 64, "max_size": 64}
    model = build(OmegaConf.create({"name": name, "kwargs": sizes}), info)
    targets = TargetBatch([{"boxes": torch.tensor([[4.0, 6.0, 30.0, 40.0]]), "labels": torch.tensor([2])}] * 2)
    images = ImageBatch([torch.rand(3, 64, 64), torch.rand(3, 56, 72)], targets)
    loss = DetectorLosses()
    model.train()
    value = loss(model(images), targets)
    value.backward()
    assert torch.isfinite(value) and set(loss.parts) == set(model.loss_names)
    model.eval()
    with torch.no_grad():
        found = model(images)
    assert len(found) == 2 and all(set(f["labels"].tolist()) <= {0, 1, 2} for f in found)


@pytest.mark.slow
def test_a_killed_detection_run_resumes_bit_identical(folder, tmp_path):
    detector = ["model.kwargs={min_size:48,max_size:48}" if a.startswith("model.kwargs=") else a for a in DETECTOR]
    args = (*QUIET, *detector, "dataset=coco", f"dataset.root={folder / 'small'}", "epochs=2")
    killed_and_resumed(args, tmp_path, every_n_steps=1)


@pytest.mark.slow
def test_two_processes_give_the_one_process_map(folder, tmp_path):
    """Images of other shapes (max_size above min_size): batches pad differently in one process
    and in two; each image is detected on its own, so the boxes and the mAP do not change."""
    sizes = "model.kwargs={min_size:64,max_size:96}"
    detector = [sizes if a.startswith("model.kwargs=") else a for a in DETECTOR]
    args = (*QUIET, *detector, "dataset=coco", f"dataset.root={folder / 'shapes'}", "epochs=1")
    ddp, one = two_processes_and_one(args, tmp_path)
    assert ddp == one, "every box of the split scored once, as by one process"


def test_coco_weights_from_the_hub_cache_load_with_new_class_layers_and_rebuild_alike(tmp_path, monkeypatch):
    """model.weights=DEFAULT (COCO_V1, 91 classes), as torch.hub caches it, no network: every tensor
    loads but the box predictor's, sized to 3 classes + background; the architecture rebuilt for a
    checkpoint (eval, predict, export: no weights read) takes the trained state as it is."""
    from omegaconf import OmegaConf
    from torchvision import models as tvm

    from dlrun import models
    from dlrun.datasets.info import DataInfo
    from dlrun.models import weights
    from dlrun.models.torchvision_detection import freeze_norms

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    name = "fasterrcnn_mobilenet_v3_large_320_fpn"
    published = tvm.get_model(name, weights=None, weights_backbone=None, num_classes=91)
    freeze_norms(published.backbone)  # torchvision's pretrained detectors have frozen BatchNorm
    path = weights.cached_file(tvm.get_model_weights(name).DEFAULT)
    path.parent.mkdir(parents=True)
    torch.save(published.state_dict(), path)
    info = DataInfo("detection", 3, (3, 64, 64), ("a", "b", "c"))
    said = []
    cfg = OmegaConf.create({"name": name, "weights": "DEFAULT", "download": False, "kwargs": None})
    model = models.build(cfg, info, say=said.append)
    state, source = model.state_dict(), published.state_dict()
    assert torch.equal(state["net.backbone.body.0.0.weight"], source["backbone.body.0.0.weight"])
    assert state["net.roi_heads.box_predictor.cls_score.weight"].shape[0] == 4
    assert said and "left out" in said[0]
    rebuilt = models.build(cfg, info, load_weights=False)
    rebuilt.load_state_dict(state)  # strict: the same architecture


def test_imagenet_backbone_weights_build_the_detector_as_torchvision_does(tmp_path, monkeypatch):
    from omegaconf import OmegaConf
    from torchvision import models as tvm
    from torchvision.ops.misc import FrozenBatchNorm2d

    from dlrun import models
    from dlrun.datasets.info import DataInfo
    from dlrun.models import weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    backbone = tvm.mobilenet_v3_large(weights=None)
    path = weights.cached_file(tvm.MobileNet_V3_Large_Weights.DEFAULT)
    path.parent.mkdir(parents=True)
    torch.save(backbone.state_dict(), path)
    info = DataInfo("detection", 2, (3, 64, 64), ("a", "b"))
    cfg = OmegaConf.create(
        {"name": "fasterrcnn_mobilenet_v3_large_fpn", "weights_backbone": "DEFAULT", "download": False, "kwargs": None}
    )
    model = models.build(cfg, info)
    assert torch.equal(model.state_dict()["net.backbone.body.0.0.weight"], backbone.state_dict()["features.0.0.weight"])
    assert any(isinstance(m, FrozenBatchNorm2d) for m in model.modules()), "BatchNorm frozen, as torchvision builds it"
    assert not all(p.requires_grad for p in model.parameters()), (
        "the first backbone layers frozen (trainable_backbone_layers)"
    )
    models.build(cfg, info, load_weights=False).load_state_dict(model.state_dict())


def test_ssd_recipe_transforms_keep_every_box_on_its_image(make_cfg, folder):
    cfg = make_cfg(
        "task=detection",
        "dataset=coco",
        f"dataset.root={folder / 'shapes'}",
        "dataset.transforms.photometric=true",
        "dataset.transforms.zoom_out=true",
        "dataset.transforms.iou_crop=true",
    ).dataset
    bundle = build_bundle(cfg)
    torch.manual_seed(0)
    for i in range(12):
        image, target = bundle.train[i]
        boxes, (height, width) = target["boxes"], image.shape[-2:]
        assert len(boxes) == len(target["labels"])
        assert ((boxes[:, 2] - boxes[:, 0]) >= 1).all() and ((boxes[:, 3] - boxes[:, 1]) >= 1).all()
        assert (boxes[:, 0::2] <= width).all() and (boxes[:, 1::2] <= height).all() and (boxes >= 0).all()


def test_models_lists_the_detectors_for_task_detection(dlrun_cli):
    result = dlrun_cli("models", "--task", "detection")
    assert result.returncode == 0
    assert "fasterrcnn_mobilenet_v3_large_320_fpn" in result.stdout and "ssdlite320_mobilenet_v3_large" in result.stdout
    assert "resnet18 " not in result.stdout and "unet" not in result.stdout


@pytest.mark.slow
def test_tensorboard_shows_test_images_with_true_and_predicted_boxes(train, folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = train(*DETECTOR, "dataset=coco", f"dataset.root={folder / 'shapes'}", "epochs=1", "logger=tensorboard")
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    shown = [tag for tag in events.Tags()["images"] if tag.startswith("test/predictions/")]
    assert len(shown) == 4
    picture = events.Images(shown[0])[0]
    assert picture.width == 2 * picture.height or picture.width > picture.height, (
        "true and predicted boxes side by side"
    )
    assert "train/loss_box_reg" in events.Tags()["scalars"]


def test_your_detector_from_torchvision_classes_is_wrapped_and_freezing_keeps_the_heads(tmp_path, monkeypatch):
    """model=custom returning torchvision's FasterRCNN around your backbone trains as dlrun's own
    detectors do; model.freeze=backbone freezes the feature extractor, not the proposal network and heads."""
    from omegaconf import OmegaConf

    from dlrun import models
    from dlrun.datasets.detection.samples import ImageBatch, TargetBatch
    from dlrun.datasets.info import DataInfo
    from dlrun.models.torchvision_detection import Detector
    from dlrun.models.transfer import freeze_backbone

    (tmp_path / "tiny_det.py").write_text(
        "from torch import nn\n"
        "from torchvision.models.detection import FasterRCNN\n"
        "from torchvision.models.detection.anchor_utils import AnchorGenerator\n"
        "from torchvision.ops import MultiScaleRoIAlign\n"
        "def build(num_classes):\n"
        "    backbone = nn.Sequential(nn.Conv2d(3, 16, 3, stride=4, padding=1), nn.ReLU())\n"
        "    backbone.out_channels = 16\n"
        "    return FasterRCNN(backbone, num_classes=num_classes + 1, min_size=64, max_size=64,\n"
        "        rpn_anchor_generator=AnchorGenerator(((16, 32),), ((1.0,),)), box_roi_pool=MultiScaleRoIAlign(['0'], 7, 2))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    info = DataInfo("detection", 2, (3, 64, 64), ("a", "b"))
    model = models.build(OmegaConf.create({"name": "custom", "class_path": "tiny_det.build", "kwargs": None}), info)
    assert isinstance(model, Detector) and model.loss_names[0] == "loss_classifier"
    assert model.net.roi_heads.box_predictor.cls_score.out_features == 3, "num_classes + 1, as the user asked"
    frozen = freeze_backbone(model, "backbone")
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert frozen is not None and not any(name.startswith("net.backbone.") for name in trainable)
    assert any(name.startswith("net.rpn.") for name in trainable) and any("box_predictor" in n for n in trainable)
    targets = TargetBatch([{"boxes": torch.tensor([[4.0, 4.0, 30.0, 30.0]]), "labels": torch.tensor([1])}])
    model.eval()
    with torch.no_grad():
        (found,) = model(ImageBatch([torch.rand(3, 64, 64)], targets))
    assert set(found["labels"].tolist()) <= {0, 1}


def test_yolo_splits_from_data_yaml_and_images_without_objects_are_kept(make_cfg, tmp_path):
    """data.yaml's train:/val: folders are the splits (YOLO's images/<split>, labels/<split>); an
    image without a labels file, or with an empty one, is a negative and stays."""
    import shutil

    source = shapes(tmp_path / "flat", n=12, sizes=(48, 64), negatives=2)
    root = tmp_path / "split"
    for split, names in (("train", range(0, 9)), ("val", range(9, 12))):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in names:
            shutil.copy(source / "images" / f"{i:04d}.png", root / "images" / split)
            if i != 11:  # 0011.png: no labels file at all
                shutil.copy(source / "labels" / f"{i:04d}.txt", root / "labels" / split)
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames: {0: circle, 1: square, 2: triangle}\n"
    )
    bundle = build_bundle(make_cfg("task=detection", "dataset=yolo", f"dataset.root={root}").dataset)
    assert bundle.info.class_names == tuple(CLASSES) and bundle.info.label_ids == (0, 1, 2)
    assert len(bundle.val) == 3, "data.yaml's val folder, as it is"
    assert len(bundle.train) + len(bundle.test) == 9, "the test split held out of train with the seed"
    empties = [len(bundle.val[i][1]["boxes"]) for i in range(3)]
    assert empties[-2:] == [0, 0], "0010.png (an empty labels file) and 0011.png (none) are negatives, kept"


@pytest.mark.slow
def test_served_boxes_are_predicts(coco_run, folder):
    """`dlrun serve` on the detector: each image's boxes (class, score, x1 y1 x2 y2 in its pixels)
    are dlrun predict's; ONNX is refused with the reason."""
    import csv

    from tests.serve.server import Server

    images = [folder / "shapes" / "images" / name for name in ("0000.png", "0005.png")]
    result = dlrun("predict", str(coco_run), *map(str, images), "--score-threshold", "0.05", "-o", "served.csv",
                   "--pictures-dir", "served", cwd=folder)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [r for r in csv.DictReader(open(folder / "served.csv")) if r["class"] != "(none)"]
    server = Server(coco_run, log=folder / "serve.log")
    try:
        form = [("file", (p.name, p.read_bytes(), "image/png")) for p in images]
        answers = server.post(files=form, params={"score_threshold": 0.05}).json()["predictions"]
    finally:
        server.stop()
    served = [(a["input"], b["class"], b["score"], *b["box"]) for a in answers for b in a["boxes"]]
    expected = [
        (r["input"], r["class"], float(r["score"]), *(float(r[k]) for k in ("x1", "y1", "x2", "y2"))) for r in rows
    ]
    assert len(served) == len(expected) > 0
    for got, want in zip(served, expected):
        assert got[:2] == want[:2] and got[2:] == pytest.approx(want[2:], abs=0.02)
    refused = dlrun("export", str(coco_run), "--format", "onnx", cwd=folder)
    assert refused.returncode == 2 and "cannot take torchvision's detectors" in refused.stderr
