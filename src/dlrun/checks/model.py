"""model.* (dlrun's own models, your own classes, torch.hub, torchvision's with their weights)."""

from pathlib import Path

from dlrun.checks.values import ABSENT, apply, boolean, import_path, lookup, number, one_of, whole

ACTIVATIONS = ("relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu")  # as dlrun.models.builtin.ACTIVATIONS
WEIGHT_FILES = (".pt", ".pth", ".safetensors", ".bin")


def widths(v) -> bool:
    return isinstance(v, list) and all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in v)


RULES = [
    ("model.dropout", number(0, 1, high_open=True), "a probability with 0 <= p < 1"),
    ("model.kernel_size", lambda v: whole(1)(v) and v % 2 == 1, "an odd number >= 1 (e.g. 3)"),
    ("model.pooling", one_of("max", "avg"), "max or avg"),
    ("model.channels", lambda v: widths(v) and len(v) >= 1, "a list of channel counts >= 1, e.g. [32, 64]"),
    ("model.hidden", widths, "a list of layer widths >= 1, e.g. [256, 128] ([] for none)"),
    ("model.activation", one_of(*ACTIVATIONS), ", ".join(ACTIVATIONS)),
    ("model.batch_norm", boolean, "true or false"),
    ("model.bias", boolean, "true or false"),
    (
        "model.freeze",
        one_of("backbone", "none", allow_none=True),
        "null (train everything) or backbone (train only the head)",
    ),
    ("model.unfreeze_at_epoch", whole(1, allow_none=True), "null or an epoch >= 1"),
    ("model.backbone_lr", number(0, allow_none=True), "null or a learning rate >= 0"),
    ("model.class_path", import_path, "module.Name, e.g. my_nets.Net"),
    ("model.trust_repo", boolean, "true or false"),
    ("model.download", boolean, "true or false"),
    ("model.kwargs", lambda v: v is None or isinstance(v, dict), "null or {name: value, ...}"),
]


SERVES = {  # what a model= option is for, by the tasks dlrun.models.catalog.tasks_of gives it
    "detection": "detects objects (task=detection, e.g. dataset=coco or dataset=yolo)",
    "segmentation": "segments images (task=segmentation, e.g. dataset=segmentation_folder)",
    "classification": "gives an output vector per sample (classification, regression, multilabel)",
}
TAKES = {  # what a task takes, for messages
    "detection": "a detector: `dlrun models --task detection` lists them (e.g. model=fasterrcnn_mobilenet_v3_large_320_fpn)",
    "segmentation": "a segmentation model: `dlrun models --task segmentation` lists them (e.g. model=unet)",
}


def task_problems(cfg) -> list[str]:
    """The model serves the run's task (known from task=... or the data set): a classifier does not
    detect, a detector does not classify."""
    from dlrun.datasets.catalog import dataset_task
    from dlrun.models.catalog import tasks_of

    name = cfg.model.get("name")
    task = dataset_task(cfg.dataset) if "dataset" in cfg else None
    serves = tasks_of(name) if isinstance(name, str) else None
    if task is None or serves is None or task in serves:
        return []
    fix = f" task={task} takes {TAKES[task]}." if task in TAKES else ""
    return [f"model={name} {SERVES[serves[0]]}; this run is {task}.{fix}"]


def model_problems(cfg) -> list[str]:
    found = apply(cfg, RULES) + task_problems(cfg)
    if cfg.model.get("name") == "hub":
        found += apply(cfg, [("model.source", one_of("auto", "local", "github"), "auto, local or github")])
    if lookup(cfg, "model.unfreeze_at_epoch") not in (ABSENT, None) and lookup(cfg, "model.freeze") in (
        ABSENT,
        None,
        "none",
    ):
        found.append("model.unfreeze_at_epoch needs model.freeze=backbone: nothing is frozen to unfreeze.")
    weights = lookup(cfg, "model.weights")
    if isinstance(weights, str) and (weights.endswith(WEIGHT_FILES) or "/" in weights):
        path = Path(weights).expanduser()
        if not path.is_file():
            found.append(f"model.weights={weights!r}: no such file (looked in {path.resolve()}).")
    repo, source = lookup(cfg, "model.repo"), lookup(cfg, "model.source")
    local = source == "local" or (source == "auto" and isinstance(repo, str) and Path(repo).expanduser().is_dir())
    if isinstance(repo, str) and local and not (Path(repo).expanduser() / "hubconf.py").is_file():
        found.append(
            f"model.repo={repo!r}: {Path(repo).expanduser().resolve()} has no hubconf.py, so it is not a "
            "torch.hub directory."
        )
    return found
