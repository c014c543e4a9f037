"""`dlrun predict RUN INPUT...`: predictions of a run's best checkpoint for image files or CSV rows."""

import csv
import sys
from pathlib import Path

from dlrun.commands import add_trust_option
from dlrun.errors import plural

HELP = "predict with a run's best checkpoint: image, audio or text files, texts (--text), or the rows of tables"


def add_arguments(parser) -> None:
    parser.add_argument("run", help="a run directory, e.g. outputs/runs/2026-01-01_12-00-00.000000")
    parser.add_argument(
        "inputs",
        nargs="*",
        help="image files, table files (a prediction per row), audio files (audio runs), text files (text runs: "
        "a text per line)",
    )
    parser.add_argument(
        "--text", action="append", default=[], help='text runs: a text to classify (repeat for more): --text "..."'
    )
    parser.add_argument("--output", "-o", help="also write the predictions to this CSV file")
    parser.add_argument("--checkpoint", default="best", help="best (default) or last")
    parser.add_argument(
        "--pictures-dir",
        "--masks-dir",
        dest="pictures_dir",
        help="segmentation: where the mask and overlay PNGs go; detection: the images with their boxes drawn "
        "(default: RUN/predictions)",
    )
    parser.add_argument(
        "--score-threshold",
        type=float,
        default=0.5,
        help="detection: the boxes kept, those scoring at least this (default 0.5)",
    )
    parser.add_argument("--json", help="detection: also write the boxes in COCO's results format to this file")
    add_trust_option(parser)


def main(args) -> int:
    from dlrun.runs.saved_run import load_run

    run = load_run(args.run, args.checkpoint, args.trust)  # refuses an untrusted config before torch loads

    from dlrun import tasks
    from dlrun.runs.saved_run import rebuild_model

    model = rebuild_model(run)
    if tasks.get(run.info.task).boxes:  # detection: a row per box, a COCO results file, the boxes drawn
        rows = predicted_boxes(model, run, args)
    else:
        rows = predicted_rows(model, run, args)
    show(rows, run, args)
    return 0


def predicted_rows(model, run, args) -> list[dict]:
    """A row per input (an image, a table row) as the run's task reads the model's outputs."""
    import torch

    from dlrun import tasks
    from dlrun.metrics import thresholds
    from dlrun.runs.inference import load_inputs, readable

    names, batch = load_inputs(args.inputs, run, getattr(args, "text", None) or [])
    with torch.no_grad():
        outputs = model(batch)
    decide = thresholds.of_run(run.path, run.cfg.get("task"), run.info.class_names or [])  # multi-label
    rows = [{"input": name, **row} for name, row in zip(names, readable(outputs, run.info, decide))]
    if tasks.get(run.info.task).spatial:  # segmentation: a mask and an overlay PNG per image
        from dlrun.runs.masks import write_masks

        folder = pictures_folder(run, args)
        files = write_masks(outputs, [Path(p) for p in args.inputs], folder)
        rows = [{**row, "mask": Path(f["mask"]).name} for row, f in zip(rows, files)]
        print(f"wrote {plural(len(files), 'mask')} and overlays to {folder}", file=sys.stderr)
    return rows


def predicted_boxes(model, run, args) -> list[dict]:
    """Detection: the boxes scoring at least --score-threshold, in each file's pixels."""
    import torch

    from dlrun.runs.boxes import box_rows, coco_results, in_file_pixels, load_images, write_drawn, write_results

    names, images, scales = load_images(args.inputs, run)
    with torch.no_grad():
        found = model(images)
    kept = [in_file_pixels(f, scale, args.score_threshold) for f, scale in zip(found, scales)]
    folder = pictures_folder(run, args)
    write_drawn(args.inputs, kept, run.info, folder)
    print(f"wrote {plural(len(names), 'image')} with their boxes drawn to {folder}", file=sys.stderr)
    if args.json:
        results = coco_results(names, kept, run.info)
        write_results(Path(args.json), results)
        print(f"wrote {plural(len(results), 'box')} (COCO results format) to {args.json}", file=sys.stderr)
    return box_rows(names, kept, run.info)


def pictures_folder(run, args) -> Path:
    """Where masks and drawn boxes go: --pictures-dir, else RUN/predictions."""
    return Path(args.pictures_dir) if args.pictures_dir else run.path / "predictions"


def show(rows: list[dict], run, args) -> None:
    """The rows as a table, and in the --output CSV file."""
    from rich.table import Table

    from dlrun.engine.console import table_console

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
