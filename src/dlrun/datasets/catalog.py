"""What each `dataset=` option is, for `dlrun datasets` (importable without torch)."""

from dataclasses import dataclass

from dlrun.tasks import TASKS

# task column: class. = classification, regr. = regression, multi. = multilabel, segm. = segmentation,
# det. = detection;
# several: the tasks the data can be; "any": every task
ABBREVIATED = {
    "class.": "classification",
    "regr.": "regression",
    "multi.": "multilabel",
    "segm.": "segmentation",
    "det.": "detection",
}
TABLE_TASKS = "class./regr./multi."


@dataclass(frozen=True)
class DatasetEntry:
    task: str
    samples: str  # train + test, as published
    input: str  # one sample's shape
    files: str  # "no": a package ships or generates it; "download": fetched once; else the key naming them
    about: str


DATASETS = {
    "digits": DatasetEntry("class.", "1,797", "1x8x8", "no", "handwritten digits, 10 classes"),
    "iris": DatasetEntry("class.", "150", "4", "no", "iris flowers, 3 species"),
    "wine": DatasetEntry("class.", "178", "13", "no", "wine cultivars, 3 classes"),
    "breast_cancer": DatasetEntry("class.", "569", "30", "no", "malignant or benign tumours"),
    "diabetes": DatasetEntry("regr.", "442", "10", "no", "disease progression score"),
    "synthetic": DatasetEntry("class./regr.", "n_samples", "n_features", "no", "make_classification / make_regression"),
    "mnist": DatasetEntry("class.", "60,000 + 10,000", "1x28x28", "download", "handwritten digits"),
    "fashion_mnist": DatasetEntry("class.", "60,000 + 10,000", "1x28x28", "download", "clothing, 10 classes"),
    "kmnist": DatasetEntry("class.", "60,000 + 10,000", "1x28x28", "download", "cursive Japanese characters"),
    "cifar10": DatasetEntry("class.", "50,000 + 10,000", "3x32x32", "download", "colour images, 10 classes"),
    "cifar100": DatasetEntry("class.", "50,000 + 10,000", "3x32x32", "download", "colour images, 100 classes"),
    "svhn": DatasetEntry("class.", "73,257 + 26,032", "3x32x32", "download", "street-view house numbers"),
    "image_folder": DatasetEntry(
        "class./multi.", "yours", "3xHxW", "dataset.root", "a folder per class, or images with a labels file"
    ),
    "segmentation_folder": DatasetEntry(
        "segm.", "yours", "3xHxW", "dataset.root", "images/ and masks/ of class indices (PNG)"
    ),
    "coco": DatasetEntry("det.", "yours", "3xHxW", "dataset.root", "images with boxes in a COCO JSON file"),
    "yolo": DatasetEntry("det.", "yours", "3xHxW", "dataset.root", "images/ with YOLO labels/*.txt and data.yaml"),
    "table": DatasetEntry(
        TABLE_TASKS, "yours", "columns", "dataset.path", "a CSV, TSV, Parquet or Feather file with a target column"
    ),
    "csv": DatasetEntry(TABLE_TASKS, "yours", "columns", "dataset.path", "a CSV file with a target column"),
    "arrays": DatasetEntry(
        TABLE_TASKS,
        "yours",
        "yours",
        "dataset.path",
        "inputs and targets in .npz, .npy or .pt files (features or images)",
    ),
    "text": DatasetEntry(
        TABLE_TASKS, "yours", "tokens", "dataset.path", "texts in a table column, or a folder of .txt files per class"
    ),
    "audio_folder": DatasetEntry(
        "class.", "yours", "clip", "dataset.root", "a folder per class of audio files (wav, flac, mp3, ogg)"
    ),
    "audio_table": DatasetEntry(
        TABLE_TASKS, "yours", "clip", "dataset.path", "a table naming audio files, with a target column"
    ),
    "custom": DatasetEntry("any", "yours", "yours", "class_path", "your torch.utils.data.Dataset class"),
    "shards": DatasetEntry(
        "any", "yours", "yours", "dataset.url", "shards by dlrun data convert: a folder or an http(s) address"
    ),
}


AUTO_TASK = {"synthetic": "classification", "image_folder": "classification"}  # task=auto where the data cannot tell


def dataset_task(dataset) -> str | None:
    """The task a dataset config declares (dataset.task, which follows task=...) or its catalogue
    entry knows; None when the data decides."""
    task, name = dataset.get("task"), dataset.get("name")
    if task in TASKS:
        return task
    return fixed_task(name) or (AUTO_TASK.get(name) if task == "auto" else None)  # a wrong task: checks.data says


def fixed_task(name) -> str | None:
    """The task of a bundled data set (digits: classification), None where the user's data decides."""
    can = possible_tasks(name)
    return can[0] if len(can) == 1 else None


def possible_tasks(name) -> tuple[str, ...]:
    """The tasks a data set can be (image_folder: classification, multilabel); () where any."""
    entry = DATASETS.get(name)
    return tuple(ABBREVIATED[t] for t in entry.task.split("/") if t in ABBREVIATED) if entry else ()
