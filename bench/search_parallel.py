"""The same 4-trial Optuna search with 1 and with 2 concurrent trials, timed as a user feels it.

    .venv/bin/python bench/search_parallel.py                    # 3 pairs; trials of 40 and of 300 epochs
    .venv/bin/python bench/search_parallel.py --pairs 5 --epochs 100

Each measurement is a whole `dlrun -m` process (start-up, every trial, the report),
run in a fresh folder. The two settings alternate (paired runs) and the medians are
compared. The search is seeded and has no pruner, so both settings train the same
four trials. Prints the CPU threads each trial had (summary.json: cpu_threads) and the
time one trial spent training (summary.json: wall_time_s): a process per trial pays
off once a trial is long against the start-up of a process (Python, torch, dlrun).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DLRUN = str(Path(sys.executable).parent / "dlrun")


def search(n_jobs: int, epochs: int, trials: int) -> tuple[float, list[int], float]:
    with tempfile.TemporaryDirectory() as folder:
        command = [
            DLRUN,
            "-m",
            "hydra/sweeper=optuna",
            "lr=tag(log, interval(1e-3, 1e-1))",
            "optimizer=adam,sgd",
            f"epochs={epochs}",
            "model=cnn",
            "logger=none",
            "trainer.progress=none",
            "hydra.sweeper.pruner.name=none",
            f"hydra.sweeper.n_trials={trials}",
            f"hydra.sweeper.n_jobs={n_jobs}",
            "hydra.sweep.dir=search",
        ]
        started = time.perf_counter()
        subprocess.run(command, cwd=folder, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        summaries = [json.loads(p.read_text()) for p in Path(folder, "search").glob("*/summary.json")]
        if len(summaries) != trials:
            raise SystemExit(f"n_jobs={n_jobs}: {len(summaries)} of {trials} trials finished")
        return seconds, [s["cpu_threads"] for s in summaries], statistics.median(s["wall_time_s"] for s in summaries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, nargs="+", default=[40, 300], help="epochs of each trial")
    parser.add_argument("--trials", type=int, default=4)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    for epochs in args.epochs:
        print(
            f"{args.trials}-trial search, cnn on digits, {epochs} epochs a trial, {cores} usable cores, "
            f"{args.pairs} pairs"
        )
        times, threads, trial_seconds = {1: [], 2: []}, {}, {}
        for pair in range(args.pairs):
            for n_jobs in (1, 2) if pair % 2 == 0 else (2, 1):
                seconds, threads[n_jobs], trial_seconds[n_jobs] = search(n_jobs, epochs, args.trials)
                times[n_jobs].append(seconds)
                print(f"  pair {pair + 1}: n_jobs={n_jobs}  {seconds:6.1f} s")
        one, two = statistics.median(times[1]), statistics.median(times[2])
        print(
            f"  n_jobs=1: median {one:.1f} s  (trials in the sweeper's process, {threads[1][0]} threads each, "
            f"{trial_seconds[1]:.1f} s a trial)"
        )
        print(
            f"  n_jobs=2: median {two:.1f} s  (a process per trial, {threads[2][0]} thread(s) each, "
            f"{trial_seconds[2]:.1f} s a trial)"
        )
        print(f"  speed-up: {one / two:.2f}x")


if __name__ == "__main__":
    main()
