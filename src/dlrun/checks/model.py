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
    ("model.grad_checkpointing", boolean, "true or false"),
    # text and audio models (text_cnn, rnn, transformer, hf, audio_cnn)
    ("model.embedding_dim", whole(1), "a whole number >= 1, e.g. 128"),
    ("model.kernel_sizes", lambda v: widths(v) and len(v) >= 1, "a list of widths in tokens, e.g. [3, 4, 5]"),
    ("model.filters", whole(1), "a whole number of channels >= 1, e.g. 100"),
    ("model.cell", one_of("lstm", "gru"), "lstm or gru"),
    ("model.hidden_size", whole(1), "a whole number >= 1, e.g. 128"),
    ("model.num_layers", whole(1), "a whole number >= 1"),
    ("model.bidirectional", boolean, "true or false"),
    ("model.readout", one_of("last", "mean", "cls"), "last or mean (rnn), mean or cls (transformer)"),
    ("model.dim", whole(1), "a whole number >= 1, a multiple of model.heads, e.g. 128"),
    ("model.heads", whole(1), "a whole number >= 1, e.g. 4"),
    ("model.layers", whole(1), "a whole number >= 1, e.g. 2"),
    ("model.ff_dim", whole(1), "a whole number >= 1, e.g. 256"),
    ("model.path", lambda v: v is None or isinstance(v, str), "null or a Hugging Face model folder"),
    (
        "model.config",
        lambda v: v is None or (isinstance(v, dict) and isinstance(v.get("model_type"), str)),
        "null or {model_type: bert, ...its settings}",
    ),
    ("model.first_kernel", whole(1), "a whole number of samples >= 1, e.g. 80"),
    ("model.first_stride", whole(1), "a whole number >= 1, e.g. 4"),
    ("model.pool", whole(1), "a whole number >= 1, e.g. 4"),
]


def text_model_problems(cfg) -> list[str]:
    """What one key of a text model needs of another."""
    name, found = cfg.model.get("name"), []
    readout = lookup(cfg, "model.readout")
    if (name, readout) in (("rnn", "cls"), ("transformer", "last")):
        valid = "last or mean" if name == "rnn" else "mean or cls"
        found.append(f"model.readout={readout!r} is not valid for model={name}: use {valid}.")
    dim, heads = lookup(cfg, "model.dim"), lookup(cfg, "model.heads")
    if name == "transformer" and whole(1)(dim) and whole(1)(heads) and dim % heads:
        found.append(f"model.dim={dim} is not a multiple of model.heads={heads}: each head takes dim / heads.")
    if name == "hf":
        path, config = lookup(cfg, "model.path"), lookup(cfg, "model.config")
        if (path in (None, ABSENT)) == (config in (None, ABSENT)):
            found.append(
                "model=hf needs model.path (a local Hugging Face model folder) or model.config (a model built "
                "without weights, e.g. {model_type: bert, hidden_size: 64, num_hidden_layers: 2, "
                "num_attention_heads: 2, intermediate_size: 128}): give one of the two."
            )
        elif isinstance(path, str) and not lookup(cfg, "model.download") and not Path(path).expanduser().is_dir():
            found.append(
                f"model.path={path!r}: no such folder. A Hub model id is fetched only with model.download=true."
            )
    return found


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
    found = apply(cfg, RULES) + task_problems(cfg) + text_model_problems(cfg)
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
