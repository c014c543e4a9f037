"""Before Hydra starts: can the run (or sweep) directory be created? Hydra creates it before
dlrun's code runs, and a failure there would end in Hydra's traceback."""

import errno
import os
import tempfile
from pathlib import Path

from dlrun.errors import DlrunError


def configured_dir(overrides: list[str], multirun: bool, default: str) -> str:
    """The directory string the command line sets (`hydra.run.dir=...` / `hydra.sweep.dir=...`),
    else the config's default."""
    key = "hydra.sweep.dir=" if multirun else "hydra.run.dir="
    given = [o.split("=", 1)[1] for o in overrides if o.lstrip("+").startswith(key)]
    return given[-1].strip("'\"") if given else default


def check_creatable(directory: str, key: str) -> None:
    """A DlrunError when `directory` (up to its first `${...}`) cannot be made: its nearest
    existing ancestor is not a folder, or creating in it fails. Nothing is left behind."""
    fixed = directory.split("${", 1)[0]
    path = Path(fixed or ".").expanduser()
    ancestor = path if path.is_absolute() else Path.cwd() / path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise DlrunError(f"{key}={directory}: {ancestor} is a file, not a folder. Choose another with {key}=PATH.")
    try:
        tempfile.TemporaryDirectory(dir=ancestor, prefix=".dlrun-check-").cleanup()
    except OSError as err:
        why = {
            errno.EROFS: "is on a read-only file system",
            errno.EACCES: "is not writable for this user",
            errno.EPERM: "is not writable for this user",
            errno.ENOSPC: "is on a full disk",
        }.get(err.errno, f"cannot hold new folders ({os.strerror(err.errno) if err.errno else err})")
        raise DlrunError(
            f"{key}={directory}: the run directory cannot be created: {ancestor} {why}. "
            f"Choose another with {key}=PATH, or run from a folder you can write to."
        ) from err
