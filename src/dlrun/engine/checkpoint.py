"""Checkpoints: plain data (tensors and Python values), written atomically.

Every file goes to a temporary name in the same folder, is flushed to disk, and
then renamed over the target, so a crash or kill mid-write leaves the previous
file intact; its mode follows the process's umask, as a file `open()` makes does
(mkstemp's own 0600 would keep colleagues on a shared file system out). Reading always
uses `weights_only=True`.
"""

import json
import os
import tempfile
from pathlib import Path

import torch

FORMAT = "dlrun-checkpoint-1"


def atomic_write(path: Path, write, before_replace=None) -> None:
    """Call `write(file)` on a temporary file beside `path`, fsync, then rename onto `path`
    (after `before_replace()`, when given: the new file is complete by then)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, umask_mode())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def umask_mode() -> int:
    """The mode `open()` gives a new file under this process's umask (0o644 under 022)."""
    return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask: read from /proc on Linux; elsewhere set and restored at once
    (os.umask is the only portable way to read it)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_checkpoint(state: dict, path: Path, keep_previous: bool = False) -> None:
    """Atomic save; with `keep_previous` the file it replaces stays as <name>.prev.pt, a
    fallback should the newest file ever be damaged outside dlrun's control. A write that
    fails (disk full, permission lost) leaves the earlier file as it was and says so."""
    path = Path(path)

    def keep() -> None:
        if path.exists():
            os.replace(path, previous(path))

    try:
        atomic_write(path, lambda f: torch.save(state, f), before_replace=keep if keep_previous else None)
    except (OSError, RuntimeError) as err:  # torch's zip writer reports a failed write as a RuntimeError
        from dlrun.errors import DlrunError

        why = (
            err.strerror
            if isinstance(err, OSError) and err.strerror
            else "the write stopped part-way; is the disk full?"
            if isinstance(err, RuntimeError)
            else str(err)
        )
        kept = f"the earlier {path.name} is unchanged" if path.exists() else f"no earlier {path.name} existed"
        raise DlrunError(
            f"could not write the checkpoint {path} ({why}): {kept}. Free space or "
            f"fix the folder's permissions, then continue with: dlrun resume {path.parent.parent}"
        ) from err


def previous(path: Path) -> Path:
    return path.with_name(path.stem + ".prev" + path.suffix)


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    return torch.load(path, map_location=map_location, weights_only=True)


def write_json(data: dict, path: Path) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(data, indent=2, default=str) + "\n").encode()))
