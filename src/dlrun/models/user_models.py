"""Models from outside dlrun: your own nn.Module class (`model=custom`) and torch.hub
entrypoints (`model=hub`), sized to the data.

Both receive the DataInfo sizes they declare as parameters (num_classes, num_outputs,
input_shape, in_channels, in_features, info); a model whose output size still differs
from the dataset's gets its head replaced.
"""

import inspect
import math
from pathlib import Path

from omegaconf import OmegaConf
from torch import nn

from dlrun.config.imports import import_object
from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError, did_you_mean, plural
from dlrun.models.transfer import output_size, replace_head


def data_arguments(fn, info: DataInfo, given: dict) -> dict:
    """The DataInfo values `fn` asks for by parameter name, unless the config sets them."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    offered = {
        "num_classes": info.num_outputs,
        "num_outputs": info.num_outputs,
        "input_shape": tuple(info.input_shape),
        "in_channels": info.input_shape[0],
        "in_features": math.prod(info.input_shape),
        "info": info,
    }
    return {k: v for k, v in offered.items() if k in params and k not in given}


def sized(model, info: DataInfo, origin: str, say=None) -> nn.Module:
    """`model`, its last layer replaced when its output size is not the data's (and said)."""
    if not isinstance(model, nn.Module):
        raise DlrunError(f"{origin} returned a {type(model).__name__}, not a torch.nn.Module.")
    if info.task == "detection":  # boxes, not an output vector: a torchvision detector is wrapped, not resized
        from dlrun.models.torchvision_detection import wrapped

        return wrapped(model)
    if output_size(model) != info.num_outputs:
        replaced = replace_head(model, info.num_outputs)
        if say is not None:
            say(
                f"model {origin}: its last layer did not give this data's {plural(info.num_outputs, 'output')}; {replaced}"
            )
    return model


def custom(cfg, info: DataInfo, say=None) -> nn.Module:
    cls = import_object(cfg.class_path, "model.class_path")
    kwargs = OmegaConf.to_container(cfg.kwargs, resolve=True) if cfg.kwargs is not None else {}
    try:
        model = cls(**kwargs, **data_arguments(cls, info, kwargs))
    except TypeError as err:
        raise DlrunError(
            f"model.class_path={cfg.class_path}: {err}. Set its arguments with model.kwargs={{name: value}}."
        ) from err
    return sized(model, info, cfg.class_path, say)


def hub(cfg, info: DataInfo, say=None) -> nn.Module:
    import torch

    repo, source = str(cfg.repo), cfg.source
    if source == "auto":
        source = "local" if Path(repo).expanduser().is_dir() else "github"
    if source == "local":  # its hubconf.py is there: checked with the config
        repo = str(Path(repo).expanduser().resolve())
    elif not cfg.trust_repo:
        raise DlrunError(
            f"model.repo={repo} is a remote repository: loading it runs its hubconf.py code. "
            "Pass model.trust_repo=true to allow that (or point model.repo at a local directory)."
        )
    if source == "local":
        hubconf = _local_hubconf(repo)
        entrypoints = [n for n in dir(hubconf) if callable(getattr(hubconf, n)) and not n.startswith("_")]
    else:
        try:
            entrypoints = torch.hub.list(repo, trust_repo=True)
        except Exception as err:  # offline, repo not found ...
            raise DlrunError(
                f"model.repo={repo} could not be read ({type(err).__name__}: {err}). torch.hub caches "
                f"repositories in {torch.hub.get_dir()}."
            ) from err
    if cfg.entrypoint not in entrypoints:
        raise DlrunError(
            f"model.entrypoint={cfg.entrypoint!r} is not in {repo}'s hubconf.py."
            f"{did_you_mean(cfg.entrypoint, entrypoints)}\nEntrypoints: {', '.join(entrypoints)}"
        )
    kwargs = OmegaConf.to_container(cfg.kwargs, resolve=True) if cfg.kwargs is not None else {}
    sizes = data_arguments(getattr(hubconf, cfg.entrypoint), info, kwargs) if source == "local" else {}
    try:
        model = torch.hub.load(repo, cfg.entrypoint, source=source, trust_repo=True, **kwargs, **sizes)
    except TypeError as err:
        raise DlrunError(
            f"{cfg.entrypoint} in {repo}: {err}. Set its arguments with model.kwargs={{name: value}}."
        ) from err
    return sized(model, info, f"{repo}:{cfg.entrypoint}", say)


def _local_hubconf(directory: str):
    """A local hub directory's hubconf module, to list its entrypoints and read their parameters."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("_dlrun_hubconf", Path(directory) / "hubconf.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise DlrunError(f"{directory}/hubconf.py failed to import: {type(err).__name__}: {err}") from err
    finally:
        sys.path.remove(directory)
    return module
