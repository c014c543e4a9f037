"""The real `dlrun` console script, run as a user would: its own process, wandb offline."""

import os
import subprocess
import sys
from pathlib import Path

DLRUN = str(Path(sys.executable).parent / "dlrun")
QUIET = ("logger=none", "trainer.progress=none", "trainer=cpu")


def cli_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return {**env, "COLUMNS": "140", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}


def dlrun(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([DLRUN, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=cli_env())


def start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [DLRUN, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
    )


def forked(argv: list[str], cwd: Path, env: dict) -> int:
    """Start `dlrun ARGV` as a fork of this process: the console script's main() in a process of
    its own (its own exit code, stdout, stderr, working directory and environment), without
    starting Python and importing dlrun and torch again. Returns the child's pid; `reaped`
    collects it. Call from the main thread only (a fork copies one thread)."""
    import io
    import logging

    out = open(cwd / ".stdout", "wb")
    err = open(cwd / ".stderr", "wb")
    pid = os.fork()
    if pid:
        out.close(), err.close()
        return pid
    code = 1
    try:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        os.dup2(out.fileno(), 1), os.dup2(err.fileno(), 2)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
        logging.root.handlers.clear()  # pytest's capture handlers: a new process has none
        from hydra.core.global_hydra import GlobalHydra

        from dlrun import cli

        GlobalHydra.instance().clear()
        sys.argv = ["dlrun", *argv]
        try:
            cli.main()
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os._exit(code)


def reaped(pid: int, cwd: Path, argv: list[str], block: bool) -> subprocess.CompletedProcess | None:
    """The finished fork's result (None while it runs, unless `block`)."""
    done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    if not done:
        return None
    read = [(cwd / name).read_text(errors="replace") for name in (".stdout", ".stderr")]
    return subprocess.CompletedProcess([DLRUN, *argv], os.waitstatus_to_exitcode(status), *read)
