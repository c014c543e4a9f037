"""What the benches that compare dlrun with a hand-written script share: one whole process timed."""

import subprocess
import sys
import time
from pathlib import Path


def timed(argv: list[str], cwd: Path) -> tuple[float, str]:
    """(seconds, stdout) of one process, start-up included; a failure ends the bench with its stderr."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return time.perf_counter() - started, done.stdout
