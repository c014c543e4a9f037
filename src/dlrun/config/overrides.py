"""What the command line's overrides mean, in dlrun's words. No torch here.

- `hydra_error_message(err, argv)`: Hydra's own errors about an override (a key the chosen
  option lacks, a group it cannot take, a `+` over an existing key, a `~` of a missing one,
  override syntax) become one dlrun line: the key, the option that lacks it and why, the
  closest keys that exist, and the `+key=` form where adding is what was meant.
- `unread_additions(cfg, overrides, compose)`: a `+key=value` (or `+group=option`) that no
  part of the run reads would be silently ignored; it is refused with the closest keys
  that are read.
- `merge_overrides(cfg, overrides)`: KEY=VALUE changes of a saved run's config, held to
  the same rules.
"""

import difflib
import re

from omegaconf import DictConfig, OmegaConf

from dlrun.config.tree import GROUPS, options_with
from dlrun.errors import DlrunError

# A node under one of these names passes its keys on to a constructor: adding one is reading it.
FORWARDING = ("kwargs", "test_kwargs", "auto_augment")
# Why an option lacks a key the group's other options have, where one sentence says it.
WHY_MISSING = {
    ("dataset", "transforms"): "dataset={option} holds its data as tensors (a table, arrays or a bundled set), "
    "which dlrun does not transform: image transforms belong to the image data sets "
    "({having})",
}

# Keys one option of a group has (a task's own settings), with what to say to the others.
ONE_OPTIONS_KEY = {
    "task.thresholds": "task={option} has no decision thresholds: they are multi-label's "
    "(task=multilabel task.thresholds=...)",
}


def hydra_error_message(err: Exception, argv: list[str]) -> str | None:
    """dlrun's message for an error Hydra raised while reading the command line, or None
    for Hydra's own (an error dlrun has no better words for)."""
    from hydra.errors import MissingConfigException, OverrideParseException

    text = str(err)
    if isinstance(err, OverrideParseException):
        return syntax_message(text, argv)
    if isinstance(err, MissingConfigException) and (found := re.search(r"Could not find '([^']+)'", text)):
        *group, option = found.group(1).split("/")
        options = re.findall(r"^\t(\S+)$", text.split("Available options", 1)[-1], re.MULTILINE)
        if group and options:
            from dlrun.errors import unknown_choice

            return str(unknown_choice("/".join(group), option, options))
        return None
    if found := re.match(r"Could not override '([^']+)'", text):
        key = found.group(1)
        value = override_value(argv, key)
        if "/" in key:
            return group_not_taken(key, value, argv)
        return missing_key(key, value, argv)
    if found := re.match(r"Could not append to config\. An item is already at '([^']+)'", text):
        key = found.group(1)
        value = override_value(argv, "+" + key)
        return (
            f"+{key}={value}: {key} exists already, so there is nothing to add. Set it without the +: "
            f"{key}={value} (++{key}=... adds or sets)."
        )
    if found := re.match(r"Could not delete from config\. '([^']+)' does not exist", text):
        key = found.group(1)
        base = compose_quietly(without(argv, "~" + key))
        return f"~{key}: there is no such key to delete.{close_keys(key, base)}"
    return None


def syntax_message(text: str, argv: list[str]) -> str:
    """An override Hydra's grammar cannot read."""
    said = [line for line in text.splitlines() if line.strip() and not line.startswith("See https")]
    bad = next((a for a in argv if "=" in a and said and said[-1].split("input ")[-1].strip("'") in a), None)
    where = f"{bad}: " if bad else ""
    return (
        f"{where}not a valid override ({said[-1] if said else text}). Write KEY=VALUE: a list as [a,b], "
        "a value with spaces, brackets or quotes in quotes: 'key=a b' or key='[x]'; see "
        "https://hydra.cc/docs/advanced/override_grammar/basic/"
    )


def override_value(argv: list[str], key: str) -> str:
    for arg in argv:
        if arg.startswith(key + "="):
            return arg.split("=", 1)[1]
    return "..."


def without(argv: list[str], key: str) -> list[str]:
    """The overrides of `argv` but those setting `key` (and Hydra's flags)."""
    return [a for a in argv if not a.startswith("-") and a.split("=", 1)[0] != key and "=" in a]


def compose_quietly(overrides: list[str]) -> DictConfig | None:
    """The config `overrides` compose to, or None where they do not compose either."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from dlrun.config.tree import conf_dir, register_generated_options

    register_generated_options()
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return compose(config_name="config", overrides=overrides, return_hydra_config=True)
    except Exception:
        return None


def chosen(cfg: DictConfig | None, group: str) -> str:
    """The option of `group` in `cfg`: Hydra's record of the choice, else the group's name key
    (a saved run's config has no Hydra record)."""
    for path in (f"hydra.runtime.choices.{group}", f"{group}.name"):
        value = OmegaConf.select(cfg, path, default=None, throw_on_resolution_failure=False) if cfg else None
        if value is not None:
            return str(value)
    return "its option"


def missing_key(key: str, value: str, argv: list[str]) -> str | None:
    """`trainer.epochz=3`; `dataset.transforms.mixup_alpha=0.2` on digits."""
    base = compose_quietly(without(argv, key))
    if base is None:
        return None
    group = key.split(".")[0]
    parent, lacking = deepest_existing(base, key)
    if key in ONE_OPTIONS_KEY:
        return f"{key}: {ONE_OPTIONS_KEY[key].format(option=chosen(base, group))}."
    if group not in GROUPS or not parent:
        return f"{key}: the config has no such key.{close_keys(key, base)}"
    option = chosen(base, group)
    if parent == group and (group, lacking[0]) in WHY_MISSING:
        having = ", ".join(sorted(options_with(group, lacking[0])))
        return (
            f"{key}: "
            + WHY_MISSING[(group, lacking[0])].format(option=option, having=having)
            + "."
            + close_keys(key, base)
        )
    node = OmegaConf.select(base, parent)
    said = f"{key}: {group}={option} has no key {parent}.{lacking[0]}.{close_keys(key, base)}"
    if forwards(parent, node):
        said += f" To pass a new argument on to {describe_target(node)}, add it: +{key}={value}"
    return said


def group_not_taken(key: str, value: str, argv: list[str]) -> str:
    """`dataset/transforms=trivialaugment` where the chosen dataset has no transforms."""
    group, sub = key.split("/", 1)
    base = compose_quietly(without(argv, key))
    option = chosen(base, group)
    having = ", ".join(sorted(options_with(group, sub)))
    why = WHY_MISSING.get((group, sub), "{option} has no {sub}: the options that have them are {having}")
    return (
        f"{key}={value}: "
        + why.format(option=option, having=having, sub=sub)
        + f". Choose one of those, e.g. {group}={sorted(options_with(group, sub))[0]} {key}={value}."
    )


def deepest_existing(cfg: DictConfig | None, key: str) -> tuple[str, list[str]]:
    """(the longest prefix of `key` that is a node of `cfg`, the parts after it)."""
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix_exists(cfg, prefix):
            return prefix, parts[cut:]
    return "", parts


ABSENT = object()


def prefix_exists(cfg: DictConfig | None, path: str) -> bool:
    """`path` is a key of `cfg` (whatever its value, null and ??? included)."""
    return (
        cfg is not None
        and OmegaConf.select(cfg, path, default=ABSENT, throw_on_missing=False, throw_on_resolution_failure=False)
        is not ABSENT
    )


def forwards(path: str, node) -> bool:
    """A node whose keys are passed on to a constructor: Hydra's `_target_` form (its
    sibling keys are the arguments), or a kwargs / policy-options mapping."""
    name = path.rsplit(".", 1)[-1]
    return name in FORWARDING or (isinstance(node, DictConfig) and "_target_" in node)


def describe_target(node) -> str:
    if isinstance(node, DictConfig) and node.get("_target_"):
        return str(node.get("_target_"))
    return "the constructor"


def read_keys(cfg: DictConfig | None, prefix: str) -> list[str]:
    """The dotted keys of `cfg` under `prefix` (all of them for '')."""
    if cfg is None:
        return []
    node = (
        cfg
        if not prefix
        else OmegaConf.select(cfg, prefix, default=None, throw_on_missing=False, throw_on_resolution_failure=False)
    )
    if not isinstance(node, DictConfig):
        return []
    found = []
    for name in node.keys():
        full = f"{prefix}.{name}" if prefix else str(name)
        if full != "hydra":
            found += [full, *read_keys(cfg, full)]
    return found


def close_keys(key: str, cfg: DictConfig | None) -> str:
    """' Did you mean: a.b, a.c?': keys of the config whose last name is close to `key`'s
    (trainer.epochz: epochs), then whole keys close to it."""
    keys = read_keys(cfg, "")
    leaves: dict[str, list[str]] = {}
    for full in keys:
        leaves.setdefault(full.rsplit(".", 1)[-1], []).append(full)
    group = key.split(".")[0]
    close = [
        full
        for leaf in difflib.get_close_matches(key.rsplit(".", 1)[-1], list(leaves), n=3, cutoff=0.75)
        for full in sorted(leaves[leaf], key=lambda k: not k.startswith(group + "."))
    ]
    close += [k for k in difflib.get_close_matches(key, keys, n=3, cutoff=0.6) if k not in close and "." in k]
    return f" Did you mean: {', '.join(close[:3])}?" if close else ""


# ---- `+key=value` that nothing reads --------------------------------------------------


def added_keys(overrides: list[str]) -> list[tuple[str, str]]:
    """(override, the dotted key it adds) for each `+key=value`, `++key=value` and `+group=option`."""
    found = []
    for override in overrides:
        if not override.startswith("+") or "=" not in override:
            continue
        key = override.lstrip("+").split("=", 1)[0].split("@", 1)[0]
        if key.startswith("hydra") or key.startswith("/hydra"):
            continue  # Hydra's own settings: Hydra reads them
        found.append((override, key.replace("/", ".")))
    return found


def unread_additions(cfg: DictConfig, overrides: list[str], compose) -> list[str]:
    """Problems with `+` overrides that add a key no part of the run reads. `compose(overrides)`
    gives the config without them (called only when there are additions)."""
    additions = added_keys(overrides)
    if not additions:
        return []
    base = compose([o for o in overrides if o not in {a for a, _ in additions}])
    interpolated = set(re.findall(r"\$\{([^}:]+)\}", OmegaConf.to_yaml(cfg, resolve=False)))
    found = []
    for override, key in additions:
        if prefix_exists(base, key) or key in interpolated:
            continue  # it was there already (++ sets it), or an interpolation reads it
        parent, lacking = deepest_existing(base, key)
        if parent and forwards(parent, OmegaConf.select(base, parent)):
            continue  # passed on to a constructor
        group = key.split(".")[0]
        if group in GROUPS and parent == group and (group, lacking[0]) in WHY_MISSING:
            having = ", ".join(sorted(options_with(group, lacking[0])))
            why = WHY_MISSING[(group, lacking[0])].format(option=chosen(base, group) if base else "?", having=having)
            found.append(f"{override}: nothing would read it: {why}.")
            continue
        where = f"{group}={chosen(base, group)} has no such key" if group in GROUPS else "the config has no such key"
        found.append(
            f"{override}: no part of the run reads {key} ({where}), so it would be ignored."
            f"{close_keys(key, base)} Keys are set without +: KEY=VALUE."
        )
    return found


# ---- a saved run's config --------------------------------------------------------------


def merge_overrides(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """`cfg` with KEY=VALUE changes (a saved run's resolved config: a whole group cannot be
    swapped, which needs Hydra's composition, i.e. a new run). A key the config does not
    have is refused with the closest ones, unless added with +, which only a key that is
    passed on to a constructor may be."""
    bare = [o for o in overrides if "=" not in o]
    if bare:
        raise DlrunError(f"overrides are KEY=VALUE, e.g. dataset.root=/other/data; got {', '.join(bare)}.")
    groups = [o for o in overrides if o.lstrip("+").split("=")[0] in GROUPS or "/" in o.split("=")[0]]
    if groups:
        raise DlrunError(
            f"overrides change values of the run's saved config (e.g. dataset.root=/other/data); they "
            f"cannot swap a whole group ({', '.join(groups)}). Start a new run for that."
        )
    problems = []
    for override in overrides:
        key = override.split("=", 1)[0]
        if not key.startswith("+") and not prefix_exists(cfg, key):
            problems.append(f"{override}: the run's config has no key {key}.{close_keys(key, cfg)}")
    problems += unread_additions(cfg, overrides, lambda _: cfg)
    if problems:
        raise DlrunError(
            problems[0]
            if len(problems) == 1
            else "the overrides have these problems:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    changes = [o.lstrip("+") for o in overrides]
    return OmegaConf.merge(cfg, OmegaConf.from_dotlist(changes))
