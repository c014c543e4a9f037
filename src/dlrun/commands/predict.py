"""`dlrun predict RUN INPUT...`: predictions of a run's best checkpoint for image files or CSV rows."""

import csv
import sys
from pathlib import Path

from dlrun.commands import add_trust_option
from dlrun.errors import plural

HELP = "predict with a run's best checkpoint: image files or the rows of CSV files"


def add_arguments(parser) -> None:
    parser.add_argument("run", help="a run directory, e.g. outputs/runs/2026-01-01_12-00-00.000000")
    parser.add_argument("inputs", nargs="+", help="image files and/or CSV files (one prediction per row)")
    parser.add_argument("--output", "-o", help="also write the predictions to this CSV file")
    parser.add_argument("--checkpoint", default="best", help="best (default) or last")
    parser.add_argument(
        "--masks-dir", help="segmentation: where the mask and overlay PNGs go (default: RUN/predictions)"
    )
    add_trust_option(parser)


def main(args) -> int:
    from dlrun.runs.saved_run import load_run

    run = load_run(args.run, args.checkpoint, args.trust)  # refuses an untrusted config before torch loads

    import torch
    from rich.table import Table

    from dlrun import tasks
    from dlrun.engine.console import table_console
    from dlrun.metrics import thresholds
    from dlrun.runs.inference import load_inputs, readable
    from dlrun.runs.saved_run import rebuild_model

    model = rebuild_model(run)
    names, batch = load_inputs(args.inputs, run)
    with torch.no_grad():
        outputs = model(batch)
    decide = thresholds.of_run(run.path, run.cfg.get("task"), run.info.class_names or [])  # multi-label
    rows = [{"input": name, **row} for name, row in zip(names, readable(outputs, run.info, decide))]
    if tasks.get(run.info.task).spatial:  # segmentation: a mask and an overlay PNG per image
        from dlrun.runs.masks import write_masks

        folder = Path(args.masks_dir) if args.masks_dir else run.path / "predictions"
        files = write_masks(outputs, [Path(p) for p in args.inputs], folder)
        rows = [{**row, "mask": Path(f["mask"]).name} for row, f in zip(rows, files)]
        print(f"wrote {plural(len(files), 'mask')} and overlays to {folder}", file=sys.stderr)

    table = Table(
        title=f"predictions of {run.path.name} ({args.checkpoint} checkpoint, epoch {run.checkpoint['epoch']})"
    )
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()))
    console = table_console()
    console.print(table)
    if args.output:
        path = Path(args.output)
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {plural(len(rows), 'prediction')} to {path}", file=sys.stderr)
    return 0
