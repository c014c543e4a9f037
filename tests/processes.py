"""The real `dlrun` command, run as a user would: its own process, its own working directory,
environment, exit code and output, wandb offline.

`dlrun()` starts it through a fork server (multiprocessing's "forkserver": one clean,
single-threaded process per test worker that imported torch and dlrun once and forks a child per
command): each child runs the console script's `main()` and exits with its code, as the
installed script would, without Python's start-up and the imports (~3 s of CPU each). `start()`
(tests that signal a running process) and the tests of the script itself start the real file.
"""

import atexit
import io
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DLRUN = str(Path(sys.executable).parent / "dlrun")
QUIET = ("logger=none", "trainer.progress=none", "trainer=cpu")
PRELOAD = ["torch", "torchvision", "hydra", "omegaconf", "dlrun.cli", "dlrun.run.process"]
_server = None


def cli_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return {**env, "COLUMNS": "140", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}


def forkserver():
    global _server
    if _server is None:
        _server = multiprocessing.get_context("forkserver")
        _server.set_forkserver_preload(PRELOAD)
    return _server


def console_script(argv: list[str], cwd: str, env: dict, out: str, err: str) -> None:
    """What the installed `dlrun` file does, in a forked child: main(), then what the
    interpreter's exit would do (atexit handlers: wandb's teardown ...), with the exit code."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
    sys.argv = [DLRUN, *argv]
    code = 1
    try:
        from dlrun import cli

        cli.main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush(), sys.stderr.flush()
    os._exit(code)


def begin(argv: list[str], cwd: Path, env: dict) -> tuple:
    """Start `dlrun ARGV` in `cwd` with `env`; `finish` waits for it."""
    files = tempfile.mkdtemp(prefix="dlrun-output-")
    out, err = os.path.join(files, "stdout"), os.path.join(files, "stderr")
    child = forkserver().Process(target=console_script, args=(list(argv), str(cwd), dict(env), out, err))
    child.start()
    return child, argv, out, err


def finish(started: tuple, timeout: float | None = None, wait: bool = True) -> subprocess.CompletedProcess | None:
    """The finished command's result (None while it runs, unless `wait`); a command still
    running after `timeout` seconds is killed and raises subprocess.TimeoutExpired."""
    child, argv, out, err = started
    child.join(timeout if wait else 0)
    if child.is_alive():
        if not wait:
            return None
        child.kill()
        child.join()
        raise subprocess.TimeoutExpired([DLRUN, *argv], timeout)
    read = []
    for path in (out, err):
        with open(path, errors="replace") as f:
            read.append(f.read())
        os.unlink(path)
    os.rmdir(os.path.dirname(out))
    return subprocess.CompletedProcess([DLRUN, *argv], child.exitcode, *read)


def dlrun(*args: str, cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return finish(begin(list(args), cwd, env or cli_env()), timeout)


def start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [DLRUN, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
    )
