"""Multi-label decision thresholds (task.thresholds): a label is predicted when its probability
reaches its threshold. A number or a list from the config, or `tune`: after training, with
the best checkpoint, each label's threshold is the one of THRESHOLD_GRID that maximises its
F1 on the validation split (ties: the one nearest 0.5; a label without positives there keeps
0.5). Tuned thresholds are saved in the run (thresholds.json), and eval, predict and export
read them from there."""

import json
from pathlib import Path

import torch

from dlrun.config import plain
from dlrun.engine.checkpoint import write_json
from dlrun.errors import DlrunError

FILE = "thresholds.json"
TUNE = "tune"
THRESHOLD_GRID = torch.arange(1, 100, dtype=torch.float64) / 100  # 0.01 .. 0.99
DEFAULT = 0.5


def tuned(task_cfg) -> bool:
    return task_cfg is not None and plain(task_cfg.get("thresholds")) == TUNE


def configured(task_cfg, labels: int) -> list[float] | None:
    """The thresholds training starts with: the config's, or 0.5 when they are tuned later
    (None: the task has no thresholds)."""
    value = plain(task_cfg.get("thresholds")) if task_cfg is not None else None
    if value is None:
        return None
    if value == TUNE:
        return [DEFAULT] * labels
    values = value if isinstance(value, list) else [value] * labels
    if len(values) != labels:
        raise DlrunError(f"task.thresholds has {len(values)} values but this data has {labels} labels: give one each.")
    return [float(v) for v in values]


def tune(scores: torch.Tensor, targets: torch.Tensor) -> list[float]:
    """Per label, the grid threshold with the best F1 on (scores, targets) of a split."""
    grid = THRESHOLD_GRID.to(scores.device)
    chosen = []
    for label in range(scores.shape[1]):
        positive = targets[:, label]
        if not positive.any():
            chosen.append(DEFAULT)
            continue
        predicted = scores[:, label, None].double() >= grid  # (samples, thresholds)
        hits = (predicted & positive[:, None]).sum(0).double()
        f1 = 2 * hits / (predicted.sum(0) + positive.sum()).double()
        best = f1.max()
        near = torch.where(f1 == best, (grid - DEFAULT).abs(), torch.full_like(grid, 2.0))
        chosen.append(round(float(grid[near.argmin()]), 2))
    return chosen


def save(run_dir: Path, thresholds: list[float], class_names, f1_val: float) -> None:
    write_json(
        {
            "thresholds": dict(zip(class_names, thresholds)),
            "tuned_on": "val",
            "rule": "per label, the threshold of 0.01 .. 0.99 with the best F1 on the validation split",
            "val_f1_macro_tuned": f1_val,
        },
        Path(run_dir) / FILE,
    )


def of_run(run_dir: Path, task_cfg, class_names) -> list[float] | None:
    """The thresholds a finished run decides with (eval, predict, export)."""
    value = plain(task_cfg.get("thresholds")) if task_cfg is not None else None
    if value != TUNE:
        return configured(task_cfg, len(class_names))
    path = Path(run_dir) / FILE
    if not path.is_file():
        raise DlrunError(
            f"{path} is missing: this run tunes its thresholds (task.thresholds=tune) when training ends, "
            f"and it did not get there. Finish it with: dlrun resume {run_dir}; or choose thresholds "
            "with the override task.thresholds=0.5."
        )
    saved = json.loads(path.read_text())["thresholds"]
    return [float(saved[str(name)]) for name in class_names]
