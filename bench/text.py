"""dlrun's text classification against the hand-written loop (bench/text_hand_written.py) on the
same data: the generated topic sentences of tests/inputs/text_data.py (4 topics), BPE 8000,
Kim's CNN, Adam 1e-3, batch 64, 5 epochs, the best validation epoch tested. Whole processes,
start-up included, paired rounds; prints each round and the medians.

    python bench/text.py [--rows 3000] [--rounds 3]
"""

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from whole_process import timed  # noqa: E402  (bench/, the script's own folder)

from tests.inputs.text_data import topic_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-text-"))
    table = topic_table(work / "topics.csv", n=args.rows)
    dlrun = str(Path(sys.executable).parent / "dlrun")
    rows = []
    for round_ in range(args.rounds):
        run_dir = work / f"run{round_}"
        dlrun_s, _ = timed(
            [dlrun, "dataset=text", f"dataset.path={table}", "dataset.text=sentence", "dataset.target=topic",
             "model=text_cnn", "epochs=5", "logger=none", "trainer.progress=none", "trainer.device=cpu",
             f"hydra.run.dir={run_dir}"],
            work,
        )  # fmt: skip
        dlrun_acc = json.loads((run_dir / "summary.json").read_text())["test"]["test/acc"]
        hand_s, said = timed([sys.executable, str(REPO / "bench" / "text_hand_written.py"), str(table)], work)
        hand_acc = float(re.search(r"test_acc=([\d.]+)", said).group(1))
        rows.append((dlrun_s, dlrun_acc, hand_s, hand_acc))
        print(f"round {round_ + 1}: dlrun {dlrun_s:.1f} s test acc {dlrun_acc:.4f}; hand-written {hand_s:.1f} s "
              f"test acc {hand_acc:.4f}")  # fmt: skip
    median = [statistics.median(column) for column in zip(*rows)]
    print(f"median of {args.rounds}: dlrun {median[0]:.1f} s (test acc {median[1]:.4f}), hand-written "
          f"{median[2]:.1f} s (test acc {median[3]:.4f}), {args.rows} sentences")  # fmt: skip


if __name__ == "__main__":
    main()
