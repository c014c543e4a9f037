"""Import a user's class by its dotted path (`my_data.MyDataset`), with clear errors.

The working directory is importable, as it is for `python -m`: a user's file beside
their data is found without packaging it.
"""

import importlib
import os
import sys

from dlrun.errors import DlrunError, did_you_mean


def import_object(path, key: str):
    """The object at `path` ('package.module.Name'); `key` names the config key in errors."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    module_name, _, name = str(path).rpartition(".")
    if not module_name or not name:
        raise DlrunError(f"{key}={path!r} is not an import path: use module.Name, e.g. my_data.MyDataset.")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise DlrunError(f"{key}={path!r}: module {module_name!r} not found ({err}). It must be a file in your "
                         f"working directory ({cwd}) or an installed package.") from err
    except Exception as err:  # the user's module itself raised while importing
        raise DlrunError(f"{key}={path!r}: importing {module_name} failed with {type(err).__name__}: {err}") from err
    if not hasattr(module, name):
        public = [n for n in dir(module) if not n.startswith("_")]
        raise DlrunError(f"{key}={path!r}: module {module_name} has no {name!r}.{did_you_mean(name, public)}")
    return getattr(module, name)
