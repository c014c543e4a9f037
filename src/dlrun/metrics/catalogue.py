"""`trainer.metrics`: the metric names a run may choose, per task, and whether each is
maximised. Plain Python (no torch, no torchmetrics): the config checks, the sweeper's
direction and the monitor read it before anything heavy is imported.

An entry of `trainer.metrics` is one of
  a name below                       acc, auroc, mape ...
  an import path                     my_metrics.brier: a function (outputs, targets) -> number, or a
                                     torchmetrics.Metric class; the column is its last part (brier)
  {name, class_path, kwargs, higher_is_better}   the same with options
`default` (or null): the defaults of the task, as before the key existed.
"""

from dataclasses import dataclass, field

from dlrun import tasks
from dlrun.config import plain
from dlrun.errors import DlrunError, did_you_mean

CLASSIFICATION, REGRESSION, MULTILABEL = "classification", "regression", "multilabel"  # dlrun.tasks.TASKS: all
TOP_K = 5

DEFAULT = "default"


@dataclass(frozen=True)
class MetricEntry:
    name: str  # the column: val/<name>
    source: str  # builtin | library | user
    higher_is_better: bool | None  # None: the user's metric did not say
    class_path: str | None = None
    kwargs: dict = field(default_factory=dict)


def names(task: str) -> dict:
    """name -> (higher is better, what it is): the task's own metrics (dlrun.tasks), computed by
    dlrun's on-device sums (builtin) or by torchmetrics, imported when chosen (library)."""
    task = tasks.get(task)
    return {**task.builtin_metrics, **task.library_metrics}


def every_name() -> list[str]:
    return sorted({n for task in tasks.TASKS for n in names(task)})


def default_names(task: str, num_outputs: int) -> list[str]:
    return tasks.get(task).default_metrics(num_outputs)


def entry_problem(entry) -> str | None:
    """What is wrong with one entry of trainer.metrics, from the config alone (None: fine)."""
    if isinstance(entry, str):
        if "." in entry:
            parts = entry.split(".")
            return (
                None
                if all(p.isidentifier() for p in parts)
                else (f"trainer.metrics: {entry!r} is not an import path (module.function or module.Class)")
            )
        if entry in every_name():
            return None
        return (
            f"trainer.metrics: unknown metric {entry!r}.{did_you_mean(entry, every_name())} "
            + "; ".join(f"{task.capitalize()}: {', '.join(names(task))}" for task in tasks.TASKS)
            + "; "
            "or your own as an import path (my_metrics.brier)"
        )
    if isinstance(entry, dict):
        unknown = sorted(set(entry) - {"name", "class_path", "kwargs", "higher_is_better"})
        if not entry.get("class_path") or not isinstance(entry.get("name"), str) or unknown:
            return (
                f"trainer.metrics: {entry!r} is not valid: a metric of your own is "
                "{name: brier, class_path: my_metrics.brier, kwargs: {}, higher_is_better: false}"
            )
        if entry.get("higher_is_better") not in (None, True, False):
            return f"trainer.metrics: {entry['name']}.higher_is_better must be true, false or null"
        return None
    return f"trainer.metrics: {entry!r} is not a metric name, an import path or {{name, class_path}}"


def selection_problems(value) -> list[str]:
    value = plain(value)
    if value in (None, DEFAULT):
        return []
    if not isinstance(value, list) or not value:
        return [f"trainer.metrics={value!r} is not valid: use default or a list, e.g. [acc, f1, auroc]"]
    found = [p for p in map(entry_problem, value) if p]
    columns = [column_name(e) for e in value if not entry_problem(e)]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        found.append(f"trainer.metrics names {', '.join(repeated)} more than once: list each metric once")
    return found


def column_name(entry) -> str:
    if isinstance(entry, dict):
        return str(entry["name"])
    return entry.rsplit(".", 1)[-1]


def task_problems(value, task: str) -> list[str]:
    """Names of the other task's metrics in `value` (a checked list), as messages."""
    own = names(task)
    value = plain(value)
    if not isinstance(value, list):  # default (or null): the task's own
        return []
    return [
        f"trainer.metrics: {entry} is {owner(entry)} metric, but this dataset is a {task} task. "
        f"{task.capitalize()} metrics: {', '.join(own)}."
        for entry in value
        if isinstance(entry, str) and "." not in entry and entry not in own
    ]


def owner(name: str) -> str:
    """`a regression`: the task whose metric `name` is."""
    return next((f"a {task}" for task in tasks.TASKS if name in names(task)), "another task's")


def resolve(value, task: str, num_outputs: int) -> list[MetricEntry]:
    """The metrics of `trainer.metrics` for this data; names that do not fit it are refused."""
    value = plain(value)
    problems = selection_problems(value)
    if problems:
        raise DlrunError(problems[0] + ".")
    if value in (None, DEFAULT):
        value = default_names(task, num_outputs)
    chosen = []
    for entry in value:
        if isinstance(entry, dict) or "." in entry:
            spec = entry if isinstance(entry, dict) else {"class_path": entry}
            chosen.append(
                MetricEntry(
                    column_name(entry),
                    "user",
                    spec.get("higher_is_better"),
                    str(spec["class_path"]),
                    dict(spec.get("kwargs") or {}),
                )
            )
            continue
        own = names(task)
        if entry not in own:
            raise DlrunError(task_problems([entry], task)[0])
        if entry == "top5" and num_outputs <= TOP_K:
            raise DlrunError(f"trainer.metrics: top5 needs more than {TOP_K} classes; this dataset has {num_outputs}.")
        source = "builtin" if entry in tasks.get(task).builtin_metrics else "library"
        chosen.append(MetricEntry(entry, source, own[entry][0]))
    return chosen


def not_a_metric(monitor: str, task: str, valid: list[str]) -> str:
    """What to tell about a trainer.monitor that is not among the run's metrics (`valid`)."""
    name = monitor[4:]
    choosable = monitor.startswith("val/") and (name in names(task) or name not in every_name())  # not the other task's
    hint = (
        f" To monitor {monitor}, add {name} to trainer.metrics (e.g. 'trainer.metrics=[acc,{name}]')."
        if choosable
        else ""
    )
    return f"trainer.monitor={monitor!r} is not a metric of this {task} run: use one of {', '.join(valid)}.{hint}"


def maximised(metric: str, value=None) -> bool | None:
    """Whether `metric` (val/auroc, or auroc) is maximised: from the catalogue, or the user's
    entry in `value` (trainer.metrics); None when nothing says."""
    name, value = metric.split("/")[-1], plain(value)
    if name == "loss":
        return False
    for entry in value if isinstance(value, list) else []:
        if not entry_problem(entry) and column_name(entry) == name and (isinstance(entry, dict) or "." in entry):
            return entry.get("higher_is_better") if isinstance(entry, dict) else None
    for task in tasks.TASKS:
        if name in names(task):
            return names(task)[name][0]
    return None
