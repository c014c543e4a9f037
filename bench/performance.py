"""Every comparison of the Performance section, as whole processes, paired, medians:

    make bench                                  # 5 rounds; writes bench/results.md
    .venv/bin/python bench/performance.py --rounds 9

- 20 epochs of the same CNN (bench/digits_net.py) on scikit-learn's digits: the hand-written
  script (bench/hand_written.py, a DataLoader as the tutorials teach) against dlrun through
  `model=custom`, with torch's DataLoader (`loader.in_memory=false`) and with batches sliced
  from tensors in memory (the default, `loader.in_memory=auto`).
- A one-epoch dlrun run against `python -c "import torch, sklearn.datasets"` (what any
  script on this data pays before its first step), and with `torch._dynamo` added, which
  torch.optim imports on an optimizer's first step in every script (about 1 s here).
- An MLP on a 60,000-row generated table (5 epochs, batch 64): torch's DataLoader against
  the in-memory batches.
- `dlrun --help` and a config mistake (`lr=abc`).

Each round runs every command once, in turn, so drift in the machine's load hits all alike.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
DLRUN = str(Path(sys.executable).parent / "dlrun")
QUIET = ["logger=none", "trainer.progress=none"]


def commands(tmp: Path) -> dict:
    custom = ["model=custom", "model.class_path=digits_net.Net", "epochs=20", *QUIET]
    table = ["dataset=synthetic", "dataset.n_samples=60000", "model=mlp", "epochs=5", *QUIET]
    return {
        "hand-written script, 20 epochs": [
            PYTHON,
            str(BENCH / "hand_written.py"),
            "--epochs",
            "20",
            "--out",
            str(tmp / "best.pt"),
        ],
        "dlrun, DataLoader, 20 epochs": [DLRUN, *custom, "loader.in_memory=false", f"hydra.run.dir={tmp}/a"],
        "dlrun, in memory, 20 epochs": [DLRUN, *custom, f"hydra.run.dir={tmp}/b"],
        "python -c 'import torch, sklearn.datasets'": [PYTHON, "-c", "import torch, sklearn.datasets"],
        "... and torch._dynamo (torch.optim's first step)": [
            PYTHON,
            "-c",
            "import torch, sklearn.datasets, torch._dynamo",
        ],
        "dlrun, one epoch": [DLRUN, "epochs=1", *QUIET, f"hydra.run.dir={tmp}/c"],
        "dlrun, 60k-row table, DataLoader, 5 epochs": [
            DLRUN,
            *table,
            "loader.in_memory=false",
            f"hydra.run.dir={tmp}/d",
        ],
        "dlrun, 60k-row table, in memory, 5 epochs": [DLRUN, *table, f"hydra.run.dir={tmp}/e"],
        "dlrun --help": [DLRUN, "--help"],
        "dlrun lr=abc (a config mistake)": [DLRUN, "lr=abc", *QUIET],
    }


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=BENCH, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if (result.returncode != 0) != ("lr=abc" in command):
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def machine() -> str:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )
    import torch

    return f"{cpu}, {len(os.sched_getaffinity(0))} cores, torch {torch.__version__}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", default=str(BENCH / "results.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cmds = commands(Path(folder))
        times = {name: [] for name in cmds}
        for _ in range(args.rounds):
            for name, command in cmds.items():
                times[name].append(seconds(command))
    med = {name: statistics.median(values) for name, values in times.items()}
    script, imports = med["hand-written script, 20 epochs"], med["python -c 'import torch, sklearn.datasets'"]
    notes = {name: f"{value / script:.2f}x the script" for name, value in med.items() if "20 epochs" in name}
    floor = med["... and torch._dynamo (torch.optim's first step)"]
    notes["dlrun, one epoch"] = (
        f"{med['dlrun, one epoch'] - imports:+.2f} s over the imports, "
        f"{med['dlrun, one epoch'] - floor:+.2f} s against the imports with torch._dynamo"
    )
    table = med["dlrun, 60k-row table, DataLoader, 5 epochs"]
    notes["dlrun, 60k-row table, in memory, 5 epochs"] = (
        f"{med['dlrun, 60k-row table, in memory, 5 epochs'] / table:.2f}x the DataLoader"
    )
    lines = [
        f"Medians of {args.rounds} rounds, whole processes, {date.today()}; {machine()}.",
        "",
        "| command | median | compared |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {value:.2f} s | {notes.get(name, '')} |" for name, value in med.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.output).write_text(text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
