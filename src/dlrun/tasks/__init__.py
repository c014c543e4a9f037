"""Tasks: what differs between kinds of problem, each in a module of its own.

    classification   one class per sample (an image or a table row)
    regression       one or more values per sample
    multilabel       several labels per sample (tags), each present or not
    segmentation     a class per pixel of an image (semantic segmentation)
    detection        boxes with a class and a score per image (object detection)

A task answers, for everything else in dlrun: its default metrics and monitored metric,
how a number of outputs reads (`10 classes`), whether class-index losses and MixUp/CutMix
apply, and how model outputs become readable predictions (`dlrun predict`). The loop,
checkpoints, resume, DDP, search, trackers and reports ask the task and stay task-agnostic.
Imports no torch: the config checks consult tasks before torch is loaded.
"""

from dlrun.errors import DlrunError, did_you_mean
from dlrun.tasks.base import Task
from dlrun.tasks.classification import Classification
from dlrun.tasks.detection import Detection
from dlrun.tasks.multilabel import Multilabel
from dlrun.tasks.regression import Regression
from dlrun.tasks.segmentation import Segmentation

TASKS: dict[str, Task] = {
    task.name: task for task in (Classification(), Regression(), Multilabel(), Segmentation(), Detection())
}

__all__ = ["TASKS", "Task", "get"]


def get(name: str) -> Task:
    """The task called `name` (DataInfo.task, dataset.task)."""
    try:
        return TASKS[name]
    except KeyError:
        raise DlrunError(
            f"task {name!r} is not known.{did_you_mean(str(name), list(TASKS))} Tasks: {', '.join(TASKS)}."
        ) from None
