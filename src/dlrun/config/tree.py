"""Where dlrun's config tree is and which options each config group offers.

Imports no torch, so `dlrun --help` and config errors answer fast.
"""

import re
from pathlib import Path

from dlrun.models.catalog import TORCHVISION_CLASSIFIERS, TORCHVISION_DETECTORS, TORCHVISION_SEGMENTERS

GROUPS = ("dataset", "model", "loss", "optimizer", "scheduler", "trainer", "logger", "experiment", "hparams_search")


def flatten(data, prefix: str = "") -> dict:
    """A resolved config as {dotted.key: value}; an empty mapping stays a value ({})."""
    if isinstance(data, dict):
        flat = {}
        for key, value in data.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): data}


def conf_dir() -> Path:
    """The `conf/` tree: inside the installed package (wheel) or at the repository root."""
    package = Path(__file__).resolve().parent.parent  # src/dlrun, or dlrun/ in site-packages
    candidates = (package / "conf", package.parent.parent / "conf")
    for candidate in candidates:
        if (candidate / "config.yaml").is_file():
            return candidate
    raise RuntimeError(f"dlrun's config tree is missing: looked in {' and '.join(map(str, candidates))}")


def register_generated_options() -> None:
    """Make every torchvision classifier, segmentation and detection model a `model=` option without a YAML file each."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for name in TORCHVISION_CLASSIFIERS:
        store.store(
            group="model",
            name=name,
            node={
                "name": name,
                "source": "torchvision",
                "weights": None,  # null (random init) | DEFAULT | IMAGENET1K_V1 ... | path/to/file.pth|.safetensors
                "download": True,  # fetch missing pretrained weights into $TORCH_HOME/hub/checkpoints
                "freeze": None,  # null | backbone: train only the new head
                "unfreeze_at_epoch": None,  # with freeze: the epoch (1-based) from which everything trains
                "backbone_lr": None,  # learning rate of the pretrained layers; null: lr
                "kwargs": None,  # more constructor arguments, e.g. {stochastic_depth_prob: 0.2}
                "grad_checkpointing": False,  # activation checkpointing of its stages (less memory, more time)
            },
        )
    for name in TORCHVISION_SEGMENTERS:
        store.store(group="model", name=name, node=SEGMENTER_NODE | {"name": name})
    for name in TORCHVISION_DETECTORS:
        store.store(group="model", name=name, node=DETECTOR_NODE | {"name": name})


SEGMENTER_NODE = {
    "source": "torchvision",
    "weights": None,  # null | DEFAULT | COCO_WITH_VOC_LABELS_V1 | a .pth/.safetensors file: the whole model's
    "weights_backbone": None,  # null (random init) | DEFAULT | IMAGENET1K_V1 ...: the backbone's ImageNet weights
    "download": True,  # fetch missing pretrained weights into $TORCH_HOME/hub/checkpoints
    "aux_loss": True,  # FCN and DeepLabV3: the auxiliary head, its loss weighted 0.5 in training
    "freeze": None,
    "unfreeze_at_epoch": None,
    "backbone_lr": None,
    "kwargs": None,
    "grad_checkpointing": False,
}


DETECTOR_NODE = {
    "source": "torchvision",
    "weights": None,  # null | DEFAULT | COCO_V1 | a .pth/.safetensors file: the whole detector's (class layers resized)
    "weights_backbone": None,  # null (random init) | DEFAULT | IMAGENET1K_V1 ...: the backbone's ImageNet weights
    "download": True,  # fetch missing pretrained weights into $TORCH_HOME/hub/checkpoints
    "freeze": None,
    "unfreeze_at_epoch": None,
    "backbone_lr": None,
    "kwargs": None,  # the detector's constructor: {min_size: 320, max_size: 320, box_score_thresh: 0.05 ...}
    "grad_checkpointing": False,  # activation checkpointing of the backbone's stages
}


def group_options(group: str, extra_dirs: list[Path] = ()) -> set[str]:
    """Every option name of `group`: YAML files in conf/ and in extra config dirs, plus generated ones."""
    options = set()
    for root in (conf_dir(), *extra_dirs):
        folder = Path(root) / group
        if folder.is_dir():
            options.update(p.stem for p in folder.glob("*.yaml"))
            options.update(p.stem for p in folder.glob("*.yml"))
    if group == "model":
        options.update(TORCHVISION_CLASSIFIERS + TORCHVISION_SEGMENTERS + TORCHVISION_DETECTORS)
    return options


MODE_LINE = re.compile(r"^\s*mode\s*:|hydra\.mode", re.MULTILINE)
KNOWN_PLUGINS = {"dlrun_optuna_sweeper", "dlrun_slurm_launcher", "hydra_submitit_launcher"}


def sets_hydra_mode(root: Path) -> bool:
    """Whether a config file under `root` could set `hydra.mode` (a `mode:` key in a file
    that mentions hydra). A text scan of small files, no YAML parsing: a false alarm only
    costs one composition."""
    for path in Path(root).rglob("*.y*ml"):
        text = path.read_text(errors="replace")
        if "hydra" in text and MODE_LINE.search(text):
            return True
    return False


def only_known_plugins() -> bool:
    """Hydra imports every module of the `hydra_plugins` namespace; any but dlrun's own and
    hydra-submitit-launcher could add config folders (a SearchPathPlugin)."""
    import importlib.util

    spec = importlib.util.find_spec("hydra_plugins")
    if spec is None or not spec.submodule_search_locations:
        return True
    found = {
        p.name.removesuffix(".py")
        for folder in spec.submodule_search_locations
        if Path(folder).is_dir()
        for p in Path(folder).iterdir()
        if not p.name.startswith(("_", "."))
    }
    return found <= KNOWN_PLUGINS


def option_keys(group: str, option: str, extra_dirs: list[Path] = ()) -> set[str]:
    """The top-level keys of one option of `group` (its YAML file, the files it inherits
    from in its group, and the subgroups its defaults list picks, e.g. transforms). Read
    with PyYAML, not composed: for messages, not for training."""
    import yaml

    if group == "model" and option in TORCHVISION_CLASSIFIERS:
        return {"name", "source", "weights", "download", "freeze", "unfreeze_at_epoch", "backbone_lr", "kwargs"}
    if group == "model" and option in TORCHVISION_SEGMENTERS:
        return {"name", *SEGMENTER_NODE}
    if group == "model" and option in TORCHVISION_DETECTORS:
        return {"name", *DETECTOR_NODE}
    for root in (conf_dir(), *extra_dirs):
        path = Path(root) / group / f"{option}.yaml"
        if path.is_file():
            break
    else:
        return set()
    data = yaml.safe_load(path.read_text()) or {}
    keys = {k for k in data if k != "defaults"}
    for entry in data.get("defaults") or []:
        if isinstance(entry, str) and entry not in ("_self_",) and "/" not in entry:
            keys |= option_keys(group, entry, extra_dirs)  # inherits another option of the group
        elif isinstance(entry, dict):
            keys |= {str(k).split("@")[0] for k in entry if not str(k).startswith(("override", "/"))}
    return keys


def options_with(group: str, key: str, extra_dirs: list[Path] = ()) -> list[str]:
    """The options of `group` that have `key` (a value or a subgroup)."""
    return sorted(o for o in group_options(group, extra_dirs) if key in option_keys(group, o, extra_dirs))
