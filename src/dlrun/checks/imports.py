"""Every import path the config names (class_path, _target_, a metric's path): its top-level
module can be found, in the working directory or among the installed packages. Found by
`importlib.util.find_spec` of the first name only, so nothing is imported or run here."""

import importlib.util

from dlrun.config.imports import importable_working_directory
from dlrun.runs.safety import import_paths


def import_problems(cfg) -> list[str]:
    from omegaconf import OmegaConf

    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # an interpolation that does not resolve: reported on its own
        return []
    cwd = importable_working_directory()
    found = []
    for key, path in import_paths(config):
        if path.startswith("hub:") or "." not in path:
            continue
        top = path.split(".")[0]
        if top.isidentifier() and importlib.util.find_spec(top) is None:
            found.append(
                f"{key}={path!r}: module {top!r} not found. It must be a file in your working directory "
                f"({cwd}) or an installed package."
            )
    return found
