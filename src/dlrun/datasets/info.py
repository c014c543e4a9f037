"""What a dataset tells the rest of dlrun: models size themselves from this alone."""

from dataclasses import dataclass

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass(frozen=True)
class DataInfo:
    task: str                               # "classification" | "regression"
    num_outputs: int                        # classes (classification) or target values (regression)
    input_shape: tuple[int, ...]            # one sample without the batch dim: (C, H, W) or (F,)
    class_names: tuple[str, ...] | None = None

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    @property
    def num_classes(self) -> int | None:
        return self.num_outputs if self.task == CLASSIFICATION else None
