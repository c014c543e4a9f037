"""What a dataset tells the rest of dlrun: models size themselves from this alone."""

from dataclasses import dataclass

from torch.utils.data import Dataset

CLASSIFICATION = "classification"
REGRESSION = "regression"
MULTILABEL = "multilabel"
SEGMENTATION = "segmentation"
DETECTION = "detection"
TASKS = (CLASSIFICATION, REGRESSION, MULTILABEL, SEGMENTATION, DETECTION)


@dataclass(frozen=True)
class DataInfo:
    task: str  # "classification" | "regression" | "multilabel" | "segmentation" | "detection"
    num_outputs: (
        int  # classes (classification, segmentation, detection), target values (regression), labels (multilabel)
    )
    input_shape: tuple[int, ...]  # one sample without the batch dim: (C, H, W) or (F,); detection: the first image's
    class_names: tuple[str, ...] | None = None  # the classes, or the labels (multilabel)
    # Regression: the training targets' mean and std per output. Losses are computed on
    # targets scaled by these, and models end in the inverse scaling, so predictions and
    # metrics are in the data's own units whatever its scale.
    target_mean: tuple[float, ...] | None = None
    target_std: tuple[float, ...] | None = None
    # How a raw input becomes what the model sees at evaluation, as plain data, so that
    # `dlrun predict` and exported models can repeat it without the training data:
    #   {"kind": "table", "features": [column names] | None, "mean": [...], "std": [...]}
    #   {"kind": "array_image", "mean": m, "std": s}    (images given as arrays, e.g. digits)
    #   {"kind": "image", "mean": [...] | None, "std": [...] | None}  (+ dataset.transforms)
    #   {"kind": "text", "tokenizer": tokenizer.json's text, "max_length", "truncation_side", "pad_id"}
    #   {"kind": "audio", "sample_rate", "clip_seconds", "features", ... "mean", "std"}  (dlrun.datasets.audio)
    preprocess: dict | None = None
    # Detection: the data's own id of each class (COCO category ids; YOLO's 0 .. K-1), for COCO results files
    label_ids: tuple[int, ...] | None = None
    # Text: the tokenizer's vocabulary size (the models' embedding tables are sized from it)
    vocab_size: int | None = None

    @classmethod
    def from_dict(cls, data: dict) -> "DataInfo":
        """Inverse of dataclasses.asdict (as stored in checkpoints)."""
        tuples = {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in data.items()
            if k in ("input_shape", "class_names", "target_mean", "target_std", "label_ids")
        }
        return cls(**{**data, **tuples})

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    @property
    def num_classes(self) -> int | None:
        return self.num_outputs if self.task == CLASSIFICATION else None


@dataclass
class DataBundle:
    """The three splits of a dataset and what the loaders need to know about them."""

    train: Dataset
    val: Dataset
    test: Dataset
    info: DataInfo
    in_memory: bool  # samples are tensors in RAM: worker processes would only add overhead
    collate: object = None  # how samples become a batch (None: torch's default; detection: lists)
    lengths: list | None = None  # each training sample's length (texts: tokens), for dataset.bucket
