"""Start-up of a change, as the user feels it: the default one-epoch run and a config
mistake, at an earlier commit and at the working tree, as whole processes, paired rounds,
medians of the paired differences.

    .venv/bin/python bench/startup_before_after.py ec1f091 --rounds 7

The earlier commit is checked out in a temporary git worktree and run from its own src/
(PYTHONPATH), with this checkout's .venv, so only dlrun's code differs.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {
    "dlrun epochs=1 (default CNN on digits)": ["epochs=1", "logger=none", "trainer.progress=none"],
    "dlrun lr=abc (a config mistake)": ["lr=abc"],
}


def timed(src: Path, args: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dlrun", *args, f"hydra.run.dir={cwd / 'run'}"], cwd=cwd, env=env, capture_output=True
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.before],
            check=True,
            capture_output=True,
        )
        try:
            trees = {"before": worktree / "src", "after": REPO / "src"}
            times = {(name, tree): [] for name in COMMANDS for tree in trees}
            for _ in range(args.rounds):
                for name, command in COMMANDS.items():
                    for tree, src in trees.items():
                        times[name, tree].append(timed(src, command, Path(tmp)))
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], capture_output=True
            )
    print(f"{args.rounds} paired rounds; before = {args.before}, after = the working tree")
    print("| command | before | after | paired difference (median) |\n|---|---|---|---|")
    for name in COMMANDS:
        before, after = times[name, "before"], times[name, "after"]
        difference = statistics.median(a - b for a, b in zip(after, before))
        print(
            f"| {name} | {statistics.median(before):.3f} s | {statistics.median(after):.3f} s | {difference:+.3f} s |"
        )


if __name__ == "__main__":
    main()
