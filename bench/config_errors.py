"""How fast a mistake in the config is answered: whole `dlrun` processes, medians.

    .venv/bin/python bench/config_errors.py            # 5 rounds of every case
    .venv/bin/python bench/config_errors.py --rounds 9

Each case is a mistake the config alone shows (a value out of range, a missing file);
it must be answered before torch is imported. Every measurement is the whole process,
start-up included, as the person who typed it waits for it. For scale, the script also
times `python -c "import torch"` and a one-epoch run that trains.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DLRUN = str(Path(sys.executable).parent / "dlrun")
CASES = {
    "trainer.precision=8": ["trainer.precision=8"],
    "dataset.val_fraction=2": ["dataset.val_fraction=2"],
    "model.dropout=1.5": ["model.dropout=1.5"],
    "missing CSV file": ["dataset=csv", "dataset.path=missing.csv", "dataset.target=y"],
    "scheduler.step_size=0": ["scheduler=step", "scheduler.step_size=0"],
    "lr=abc": ["lr=abc"],
    "four at once": ["trainer.precision=8", "dataset.val_fraction=2", "model.dropout=1.5", "epochs=0"],
}


def seconds(command: list[str], folder: str, expect_error: bool) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if (result.returncode != 0) != expect_error or "Traceback" in result.stderr:
        raise SystemExit(f"{' '.join(command)}: unexpected outcome (exit {result.returncode}):\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        times = {name: [] for name in CASES}
        scale = {"python -c 'import torch'": [], "dlrun epochs=1 (trains)": []}
        for _ in range(args.rounds):  # interleaved, so drift in the machine's load hits every case alike
            for name, overrides in CASES.items():
                times[name].append(seconds([DLRUN, *overrides, "logger=none"], folder, expect_error=True))
            scale["python -c 'import torch'"].append(seconds([sys.executable, "-c", "import torch"], folder, False))
            scale["dlrun epochs=1 (trains)"].append(
                seconds([DLRUN, "epochs=1", "logger=none", "trainer.progress=none"], folder, False)
            )
    print(f"{'case':34} median  (min-max) over {args.rounds} runs, whole process")
    for name, values in {**times, **scale}.items():
        print(f"{name:34} {statistics.median(values):5.2f} s ({min(values):.2f}-{max(values):.2f})")
    worst = max(statistics.median(v) for v in times.values())
    print(f"slowest config mistake: {worst:.2f} s (goal: under 1.5 s)")


if __name__ == "__main__":
    main()
