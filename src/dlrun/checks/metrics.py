"""trainer.metrics and trainer.monitor: names that exist, fit the dataset's task where the
config alone tells it (bundled sets, dataset.task), and a monitor among the chosen metrics."""

from dlrun.checks.values import ABSENT, lookup
from dlrun.datasets.catalog import dataset_task
from dlrun.metrics.catalogue import column_name, default_names, not_a_metric, selection_problems, task_problems


def metric_problems(cfg) -> list[str]:
    metrics, monitor = lookup(cfg, "trainer.metrics"), lookup(cfg, "trainer.monitor")
    if metrics is ABSENT:
        return []
    found = selection_problems(metrics)
    if found:
        return found
    task = dataset_task(cfg.dataset) if "dataset" in cfg else None
    if task is not None:
        found += task_problems(metrics, task)
    if not isinstance(monitor, str) or not monitor.startswith("val/") or monitor == "val/loss":
        return found
    if isinstance(metrics, list):
        chosen = [column_name(m) for m in metrics]
        if monitor[4:] not in chosen:
            found.append(
                f"trainer.monitor={monitor} is not among trainer.metrics ({', '.join(chosen)}): "
                f"add {monitor[4:]} to the list or monitor one of them."
            )
    elif task is not None and monitor[4:] not in default_names(task, num_outputs=100):  # top5 may be there
        found.append(
            not_a_metric(monitor, task, ["val/loss", *(f"val/{n}" for n in default_names(task, 100)), "train/loss"])
        )
    return found
