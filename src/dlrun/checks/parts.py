"""loss.*, optimizer.* and scheduler.*: the values of each where the chosen option has the key."""

from dlrun import tasks
from dlrun.checks.values import apply, boolean, is_int, is_number, lookup, number, one_of, whole
from dlrun.datasets.catalog import dataset_task


def betas(v) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(is_number(b) and 0 <= b < 1 for b in v)


def milestones(v) -> bool:
    return isinstance(v, list) and all(is_int(m) and m >= 1 for m in v) and v == sorted(set(v))


RULES = [
    ("loss.label_smoothing", number(0, 1, high_open=True), "a number with 0 <= label_smoothing < 1"),
    ("loss.delta", number(0, low_open=True), "a number > 0"),
    ("loss.beta", number(0, low_open=True), "a number > 0"),
    ("loss.reduction", one_of("mean", "sum"), "mean or sum"),
    ("optimizer.weight_decay", number(0), "a number >= 0"),
    ("optimizer.momentum", number(0, 1, high_open=True), "a number with 0 <= momentum < 1"),
    ("optimizer.nesterov", boolean, "true or false"),
    ("optimizer.decay_norm_and_bias", boolean, "true or false"),
    ("optimizer.betas", betas, "[beta1, beta2], each with 0 <= beta < 1, e.g. [0.9, 0.999]"),
    ("optimizer.eps", number(0, low_open=True), "a number > 0, e.g. 1e-8"),
    ("optimizer.alpha", number(0, 1), "a number with 0 <= alpha <= 1"),
    ("optimizer.rho", number(0, 1), "a number with 0 <= rho <= 1"),
    ("scheduler.step_size", whole(1), "a whole number of epochs >= 1"),
    ("scheduler.gamma", number(0, 1, low_open=True), "a number with 0 < gamma <= 1"),
    ("scheduler.factor", number(0, 1, low_open=True, high_open=True), "a number with 0 < factor < 1"),
    ("scheduler.patience", whole(0), "a whole number of epochs >= 0"),
    ("scheduler.T_max", whole(1), "a whole number of epochs >= 1"),
    ("scheduler.eta_min", number(0), "a learning rate >= 0"),
    ("scheduler.min_lr", number(0), "a learning rate >= 0"),
    ("scheduler.pct_start", number(0, 1, low_open=True, high_open=True), "a fraction with 0 < pct_start < 1"),
    ("scheduler.warmup_fraction", number(0, 1, high_open=True), "a fraction with 0 <= warmup_fraction < 1"),
    ("scheduler.max_lr", number(0, low_open=True), "a learning rate > 0"),
    ("scheduler.total_steps", lambda v: v == "auto" or (is_int(v) and v >= 1), "auto or a whole number of steps >= 1"),
    ("scheduler.milestones", milestones, "increasing epochs >= 1, e.g. [5, 8]"),
    ("scheduler.interval", one_of("epoch", "step"), "epoch or step"),
]


CLASS_INDEX_LOSSES = {"torch.nn.CrossEntropyLoss": "CrossEntropyLoss", "torch.nn.NLLLoss": "NLLLoss"}


def class_loss_on_values(loss: str, task: str) -> str:
    return f"loss={loss} needs class labels, but this dataset is a {task} task. Use loss={tasks.get(task).losses}."


def parts_problems(cfg) -> list[str]:
    found = apply(cfg, RULES)
    loss = CLASS_INDEX_LOSSES.get(lookup(cfg, "loss._target_"))
    task = dataset_task(cfg.dataset) if loss and "dataset" in cfg else None
    if task not in (None, "detection") and not tasks.get(task).takes_class_indices:  # training.losses checks it too,
        found.append(class_loss_on_values(loss, task))  # once the data tells the task
    found += detector_loss_problems(cfg)
    if cfg.get("optimizer") and cfg.optimizer.get("nesterov") is True and cfg.optimizer.get("momentum") == 0:
        found.append("optimizer.nesterov=true needs momentum: set optimizer.momentum > 0 (e.g. 0.9).")
    return found


DETECTOR_LOSS = "dlrun.training.detection_loss.DetectorLosses"  # conf/loss/detection.yaml


def detector_loss_problems(cfg) -> list[str]:
    """A detector trains on its own losses (loss=detection), and nothing else computes those."""
    target = lookup(cfg, "loss._target_")
    task = dataset_task(cfg.dataset) if "dataset" in cfg else None
    if task == "detection" and isinstance(target, str) and target.startswith("torch.nn."):
        if lookup(cfg, "task.name") == "auto":
            return [
                f"dataset={cfg.dataset.get('name')} is detection data: add task=detection (it trains on the "
                "detector's own losses, loss=detection)."
            ]
        return [
            f"loss={target.rsplit('.', 1)[-1]} does not train a detector: task=detection sums the detector's own "
            "losses (loss=detection, its parts weighted with loss.weights={loss_box_reg: 2.0})."
        ]
    if target == DETECTOR_LOSS and task is not None and task != "detection":
        return [f"loss=detection sums a detector's own losses; this run is {task}: use loss={tasks.get(task).losses}."]
    return []
