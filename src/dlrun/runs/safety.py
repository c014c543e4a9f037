"""A saved config may come from someone else: before anything is built from it, every
import path it names must be on an allow-list (torch, torchvision, dlrun, and the
prefixes the user trusts), or the command refuses and says how to trust it."""

import os

from dlrun.errors import DlrunError

ALWAYS_TRUSTED = ("torch", "torchvision", "dlrun")
IMPORT_KEYS = ("_target_", "class_path")


def import_paths(node, where: str = "") -> list[tuple[str, str]]:
    """(config key, import path) for every `_target_` and `class_path` in a plain config."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            if key in IMPORT_KEYS and isinstance(value, str):
                found.append((here, value))
            else:
                found += import_paths(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += import_paths(value, f"{where}[{index}]")
    metrics = (node.get("trainer") or {}).get("metrics") if isinstance(node, dict) and not where else None
    for index, entry in enumerate(metrics if isinstance(metrics, list) else []):
        if isinstance(entry, str) and "." in entry:  # a metric of the user's own, by import path
            found.append((f"trainer.metrics[{index}]", entry))
    model = node.get("model") if isinstance(node, dict) and not where else None
    if isinstance(model, dict) and model.get("name") == "hub" and model.get("source") != "local":
        found.append(("model.repo", f"hub:{model.get('repo')}"))  # a remote hub repository runs its own code
    return found


def trusted_prefixes(extra=()) -> tuple[str, ...]:
    from_env = [p.strip() for p in os.environ.get("DLRUN_TRUSTED_IMPORTS", "").split(",") if p.strip()]
    return (*ALWAYS_TRUSTED, *from_env, *extra)


def is_trusted(path: str, prefixes) -> bool:
    return any(
        path == p or path.startswith(p.rstrip(".") + ".") or path.startswith(p.rstrip(".") + ":") for p in prefixes
    )


def check_trusted(config: dict, extra=(), source: str = "the saved config") -> None:
    prefixes = trusted_prefixes(extra)
    untrusted = [(key, path) for key, path in import_paths(config) if not is_trusted(path, prefixes)]
    if untrusted:
        listing = ", ".join(f"{key}={path}" for key, path in untrusted)
        roots = sorted({path.split(":")[0] if path.startswith("hub:") else path.split(".")[0] for _, path in untrusted})
        flags = " ".join(f"--trust {root}" for root in roots)
        raise DlrunError(
            f"{source} names code outside dlrun's allow-list: {listing}. Nothing from it was imported or run. "
            f"If you trust it, pass {flags} (or set DLRUN_TRUSTED_IMPORTS={','.join(roots)}). "
            f"Always trusted: {', '.join(ALWAYS_TRUSTED)}."
        )
