"""Build what the config names by import path, with one rule for every group.

A class or function is named either by `class_path` (+ `kwargs`), dlrun's form, or by
`_target_` (+ its arguments as sibling keys), Hydra's form. Either may name torch,
torchvision, an installed package or a module in the working directory: the working
directory is importable, as it is for `python -m`, so a user's file beside their data
is found without packaging it. Errors name the key, the path and what went wrong.
"""

import functools
import importlib
import inspect
import os
import re
import sys

from dlrun.errors import DlrunError, did_you_mean, innermost, root_cause

HYDRA_KEYS = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")


def importable_working_directory() -> str:
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    return cwd


def import_object(path, key: str):
    """The object at `path` ('package.module.Name'); `key` names the config key in errors."""
    cwd = importable_working_directory()
    module_name, _, name = str(path).rpartition(".")
    if not module_name or not name:
        raise DlrunError(f"{key}={path!r} is not an import path: use module.Name, e.g. my_data.MyDataset.")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise DlrunError(
            f"{key}={path!r}: module {module_name!r} not found ({err}). It must be a file in your "
            f"working directory ({cwd}) or an installed package."
        ) from err
    except Exception as err:  # the user's module itself raised while importing
        raise DlrunError(f"{key}={path!r}: importing {module_name} failed with {type(err).__name__}: {err}") from err
    if not hasattr(module, name):
        public = [n for n in dir(module) if not n.startswith("_")]
        raise DlrunError(f"{key}={path!r}: module {module_name} has no {name!r}.{did_you_mean(name, public)}")
    return getattr(module, name)


def target_of(spec: dict, key: str) -> tuple[str, str]:
    """(config key, import path) of a spec in either form."""
    if spec.get("class_path") is not None:
        return f"{key}.class_path", str(spec["class_path"])
    if spec.get("_target_") is not None:
        return f"{key}._target_", str(spec["_target_"])
    raise DlrunError(f"{key} names nothing to build: set {key}.class_path=module.Name (or {key}._target_).")


def load_target(spec: dict, key: str):
    """The class or function a spec names, imported (nothing called yet)."""
    where, path = target_of(spec, key)
    return import_object(path, where)


def call(target, args: tuple, kwargs: dict, where: str):
    """`target(*args, **kwargs)`; a wrong argument names what the target takes."""
    try:
        return target(*args, **kwargs)
    except DlrunError:
        raise
    except TypeError as err:
        raise DlrunError(f"{where} could not be built with {described(kwargs)}: {err}.{takes(target)}") from err
    except Exception as err:
        raise DlrunError(f"{where} could not be built: {type(err).__name__}: {root_cause(err)}") from err


def named(spec: dict, key: str):
    """(the class or function `spec` names, imported; "key.class_path=path" for messages)."""
    return load_target(spec, key), "=".join(target_of(spec, key))


def build(spec: dict, key: str, *args, partial: bool = False, **extra):
    """What `spec` (plain data) names, called with `args` (what dlrun passes: parameters, an
    optimizer ...) and its keyword arguments; `partial`: bound to them, not called (a loss
    function). Hydra's form goes through Hydra's `instantiate` (nested `_target_`s), after
    the target imported cleanly."""
    target, where = named(spec, key)
    if spec.get("class_path") is not None:
        kwargs = {**(spec.get("kwargs") or {}), **extra}
        return functools.partial(target, *args, **kwargs) if partial else call(target, args, kwargs, where)
    from hydra.utils import instantiate

    options = {k: v for k, v in spec.items() if k not in HYDRA_KEYS}
    try:
        return instantiate({**spec, "_partial_": partial}, *args, **extra)
    except DlrunError:
        raise
    except Exception as err:
        cause = innermost(err)
        if isinstance(cause, DlrunError):  # the target's own check, already worded for the user
            raise cause from err
        hint = takes(target) if isinstance(cause, TypeError) else ""
        extra_key = re.search(r"unexpected keyword argument '(\w+)'", str(cause))
        if extra_key and extra_key.group(1) in options:
            hint += (
                f" A key the group's option set stays unless removed: ~{key}.{extra_key.group(1)} "
                f"(or start from {key}=custom)."
            )
        raise DlrunError(
            f"{where} could not be built with {described(options)}: {type(cause).__name__}: {cause}.{hint}"
        ) from err


def described(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) if kwargs else "no arguments"


def takes(target) -> str:
    """' It takes (a, b=1).' from the signature, when there is one."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return ""
    return f" It takes {signature}."


def is_subclass(target, base) -> bool:
    return inspect.isclass(target) and issubclass(target, base)
