"""Every kind of data dlrun reads converts to shards that give each split sample for sample as
the source data does: class folders, a multi-label labels file, segmentation folders, COCO and
YOLO boxes, audio clips, a table, and your own Datasets of images, masks and boxes. The training
split under the same random draws too (its augmentation is the converted run's)."""

import json
import sys
import tarfile

import numpy as np
import pytest
import torch

from dlrun.datasets import build_bundle
from dlrun.datasets.image_files import kept_on_disk
from dlrun.datasets.shards.convert import convert
from dlrun.datasets.shards.manifest import members, read_index
from tests.inputs.audio_data import clip_folder
from tests.tasks import detection_data, segmentation_data
from tests.tasks.detection_data import BLOCKS
from tests.tasks.multilabel_data import digit_canvases

BLOBS = (  # your Dataset of (uint8 image, mask) pairs
    "import torch\n"
    "class Blobs(torch.utils.data.Dataset):\n"
    "    classes = ['sea', 'island']\n"
    "    def __len__(self): return 30\n"
    "    def __getitem__(self, i):\n"
    "        mask = torch.zeros(16, 16, dtype=torch.int64); mask[i % 8 : i % 8 + 6, 4:10] = 1\n"
    "        return (mask.float() * 200).expand(3, 16, 16).to(torch.uint8), mask\n"
)
PICTURES = (  # your Dataset of PIL images (grey) with values to regress
    "import numpy as np\n"
    "import torch\n"
    "from PIL import Image\n"
    "class Pictures(torch.utils.data.Dataset):\n"
    "    def __len__(self): return 40\n"
    "    def __getitem__(self, i):\n"
    "        pixels = (np.arange(144).reshape(12, 12) * (i + 1)) % 256\n"
    "        return Image.fromarray(pixels.astype(np.uint8), mode='L'), np.array([i / 10, i % 3], np.float32)\n"
)


def made(name: str, tmp_path) -> tuple[str, ...]:
    """The data of case `name` written under tmp_path; the overrides that read it."""
    if name == "class_folders":
        from PIL import Image
        from sklearn.datasets import load_digits

        digits = load_digits()
        for i in range(120):
            folder = tmp_path / "digits" / str(digits.target[i])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray((digits.images[i] * 255 / 16).astype(np.uint8)).save(folder / f"{i:04d}.png")
        return (
            "dataset=image_folder",
            f"dataset.root={tmp_path / 'digits'}",
            "dataset.transforms.horizontal_flip=true",
            "dataset.transforms.random_erasing=0.5",
        )
    if name == "labels_file":
        digit_canvases(tmp_path / "canvas", n=60)
        return ("task=multilabel", "dataset=image_folder", f"dataset.root={tmp_path / 'canvas'}",
                "dataset.labels_file=labels.csv")  # fmt: skip
    if name == "segmentation_folder":
        segmentation_data.shapes(tmp_path / "shapes", n=40, size=32)
        return ("dataset=segmentation_folder", f"dataset.root={tmp_path / 'shapes'}",
                "dataset.transforms.horizontal_flip=true")  # fmt: skip
    if name in ("coco", "yolo"):
        detection_data.shapes(tmp_path / "boxes", n=24, sizes=(40, 64), objects=(1, 3), negatives=2)
        return ("task=detection", f"dataset={name}", f"dataset.root={tmp_path / 'boxes'}")
    if name == "audio_folder":
        clip_folder(tmp_path / "clips", per_class=8, seconds=1.2)
        return ("dataset=audio_folder", f"dataset.root={tmp_path / 'clips'}", "dataset.clip_seconds=1.0")
    if name == "table":
        return ("dataset=wine",)
    sources = {"custom_masks": ("blobs", BLOBS, "Blobs", "segmentation"),
               "custom_boxes": ("blocks", BLOCKS, "Blocks", "detection"),
               "custom_pictures": ("pictures", PICTURES, "Pictures", "regression")}  # fmt: skip
    module, code, cls, task = sources[name]
    (tmp_path / f"{module}.py").write_text(code)
    return (f"task={task}", "dataset=custom", f"dataset.class_path={module}.{cls}") + (
        ("dataset/transforms=detection",) if task == "detection" else ()
    )


def plain(value):
    """A sample as nested plain tensors (ints as int64 tensors, tv_tensors as tensors)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, (int, np.integer)):
        return torch.tensor(int(value))
    return torch.as_tensor(value).as_subclass(torch.Tensor)


def assert_same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key}]")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{k}]")
    else:
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), where


def sample(split, i: int):
    torch.manual_seed(0)  # the training pipeline's random draws: the same on both sides
    return plain(split[i])


CASES = ["class_folders", "labels_file", "segmentation_folder", "coco", "yolo", "audio_folder", "table",
         "custom_masks", "custom_boxes", "custom_pictures"]  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_shards_give_every_split_as_the_source_data_does(name, make_cfg, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    overrides = made(name, tmp_path)
    cfg = make_cfg(*overrides).dataset
    source = build_bundle(cfg)
    manifest = convert(cfg, tmp_path / "shards", per_shard=7, workers=2)
    task = [o for o in overrides if o == "task=detection"]  # as dataset=coco, detection shards need it said
    shards = build_bundle(make_cfg(*task, "dataset=shards", f"dataset.url={tmp_path / 'shards'}").dataset)

    assert manifest["kind"] == {"segmentation_folder": "segmentation", "custom_masks": "segmentation",
                                "coco": "detection", "yolo": "detection", "custom_boxes": "detection",
                                "audio_folder": "audio", "table": "tensors"}.get(name, "image")  # fmt: skip
    assert shards.info.task == source.info.task and shards.info.class_names == source.info.class_names
    assert shards.info.input_shape == source.info.input_shape and shards.info.label_ids == source.info.label_ids
    for split in ("train", "val", "test"):
        ours, theirs = getattr(shards, split), getattr(source, split)
        assert len(ours) == len(theirs) == manifest["counts"][split] > 0, split
        place = read_index(str(tmp_path / "shards"), manifest, split)["source"].tolist()  # train: shuffled once
        assert sorted(place) == list(range(len(theirs))) and (split == "train") == (place != sorted(place))
        for i in range(len(theirs)):
            assert_same(sample(ours, i), sample(theirs, place[i]), f"{name} {split}[{i}]")
    if shards.collate is not None:
        shards.collate([shards.train[0], shards.train[1]])  # batches as the source's are made


def test_file_samples_keep_their_files_bytes_and_webdataset_reads_them(make_cfg, tmp_path):
    """Segmentation: each image and mask file's own bytes, as <key>.png and <key>.mask.png
    members that webdataset's reader pairs by key."""
    import webdataset

    segmentation_data.shapes(tmp_path / "shapes", n=20, size=24)
    cfg = make_cfg("dataset=segmentation_folder", f"dataset.root={tmp_path / 'shapes'}").dataset
    manifest = convert(cfg, tmp_path / "shards", per_shard=5, workers=1)
    with kept_on_disk():
        train = build_bundle(cfg).train
    pairs, indices = train.base.samples, train.indices
    index = read_index(str(tmp_path / "shards"), manifest, "train")
    shard = manifest["splits"]["train"]["shards"][index["shard"][6]]
    image, mask = members(index, 6, manifest["suffixes"])
    data = (tmp_path / "shards" / shard).read_bytes()
    assert image[0] == "png" and mask[0] == "mask.png"
    image_file, mask_file = pairs[indices[index["source"][6]]]
    assert data[image[1] : image[1] + image[2]] == open(image_file, "rb").read()
    assert data[mask[1] : mask[1] + mask[2]] == open(mask_file, "rb").read()
    read = list(webdataset.WebDataset(str(tmp_path / "shards" / shard), shardshuffle=False))
    assert read[1]["png"] == open(image_file, "rb").read() and read[1]["mask.png"] == open(mask_file, "rb").read()
    with tarfile.open(tmp_path / "shards" / shard) as tar:
        assert tar.getnames()[2:4] == [f"{6:09d}.png", f"{6:09d}.mask.png"]
    assert json.loads((tmp_path / "shards" / "manifest.json").read_text())["ignore_index"] == 255
    assert sys.modules.get("webdataset") is not None
