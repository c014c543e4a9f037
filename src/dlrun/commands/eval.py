"""`dlrun eval RUN [KEY=VALUE ...]`: test metrics of a run's best checkpoint, computed with
the run's own saved config (never today's defaults); overrides point it at other data."""

import json
import sys
from pathlib import Path

from dlrun.commands import add_trust_option
from dlrun.errors import plural

HELP = "test metrics of a run's best checkpoint, with the run's own config (KEY=VALUE overrides it)"


def add_arguments(parser) -> None:
    parser.add_argument("run", help="a run directory")
    parser.add_argument(
        "overrides", nargs="*", help="config changes, e.g. dataset.root=/other/images trainer.device=cpu"
    )
    parser.add_argument("--checkpoint", default="best", help="best (default) or last")
    add_trust_option(parser)
    parser.add_argument("--split", default="test", choices=["test", "val"], help="the split to evaluate")
    parser.add_argument(
        "--output",
        "-o",
        help="also write the metrics (and the confusion matrix, or the per-label or per-class table) to this JSON file",
    )


def main(args) -> int:
    from dlrun.errors import DlrunError
    from dlrun.runs.saved_run import load_run

    # the config with the overrides, checked (and refused when untrusted) before torch loads
    run = load_run(args.run, args.checkpoint, args.trust, args.overrides, data_files=True)

    from rich.table import Table

    from dlrun import datasets, tasks
    from dlrun.engine.console import table_console
    from dlrun.engine.device import select_device
    from dlrun.engine.loop import evaluate
    from dlrun.metrics import thresholds
    from dlrun.metrics.builtin import make_metrics
    from dlrun.run.build import build_or_explain
    from dlrun.runs.saved_run import rebuild_model
    from dlrun.training.losses import build_loss
    from dlrun.training.seeding import seed_everything

    cfg = run.cfg
    seed_everything(cfg.seed)
    device = select_device(cfg.trainer.device)
    loaders, info = build_or_explain(
        "dataset",
        cfg.dataset.name,
        lambda: datasets.build(
            cfg.dataset,
            cfg.loader,
            seed=cfg.seed,
            batch_size=cfg.batch_size,
            device=device,
            fitted=run.info.preprocess,  # a text run's own tokenizer
        ),
    )
    sized = not tasks.get(info.task).boxes  # a detector takes images of any size
    if (info.task, info.num_outputs, tuple(info.input_shape) if sized else ()) != (
        run.info.task,
        run.info.num_outputs,
        tuple(run.info.input_shape) if sized else (),
    ):
        raise DlrunError(
            f"this data ({info.task}, {plural(info.num_outputs, 'output')}, input {info.input_shape}) does not fit "
            f"the run's model ({run.info.task}, {plural(run.info.num_outputs, 'output')}, input {run.info.input_shape})."
        )
    model = rebuild_model(run).to(device)
    metrics = make_metrics(
        info.task,
        info.num_outputs,
        details=True,
        selection=cfg.trainer.get("metrics"),
        thresholds=thresholds.of_run(run.path, cfg.get("task"), info.class_names or []),  # multi-label
    ).to(device)
    criterion = build_loss(cfg.loss, run.info).to(device)
    values = evaluate(model, loaders[args.split], criterion, metrics, device, info.task, split=args.split)
    details = metrics.compute()
    confusion = details["confusion"].tolist() if "confusion" in details else None
    table_name = next((name for name in ("per_label", "per_class") if name in details), None)
    per_row = {key: column.tolist() for key, column in details[table_name].items()} if table_name else None

    recorded = {}
    summary_file = run.path / "summary.json"
    if summary_file.is_file() and args.split == "test" and args.checkpoint == "best" and not args.overrides:
        recorded = json.loads(summary_file.read_text()).get("test", {})
    console = table_console()
    console.print(
        f"{run.path}: {args.checkpoint} checkpoint (epoch {run.checkpoint['epoch']}), {args.split} split",
        highlight=False,
    )
    table = Table(title=f"{args.split} metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    if recorded:
        table.add_column("summary.json", justify="right")
    for name, value in values.items():
        table.add_row(
            name, f"{value:.6g}", *([f"{recorded[name]:.6g}" if name in recorded else "-"] if recorded else [])
        )
    console.print(table)
    if confusion is not None:
        names = list(info.class_names or range(info.num_outputs))
        matrix = Table(title="confusion matrix (rows: true class, columns: predicted)")
        matrix.add_column("")
        for name in names:
            matrix.add_column(str(name), justify="right")
        for name, counts in zip(names, confusion):
            matrix.add_row(str(name), *map(str, counts))
        console.print(matrix)
    if per_row is not None:
        console.print(row_table(table_name.replace("_", " "), per_row, info.class_names))
    if args.output:
        kept = {"confusion_matrix": confusion} if confusion is not None else {}
        kept.update({table_name: per_row} if per_row is not None else {})
        Path(args.output).write_text(
            json.dumps({"metrics": values, **kept, "class_names": list(info.class_names or [])}, indent=2)
        )
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def row_table(title: str, columns: dict, names):
    """A row per label (multi-label: AP, F1, precision, recall, threshold, support) or per class
    (segmentation: IoU, Dice, pixels; detection: AP, AP@0.5, true boxes), the columns in the
    order the task's metrics give them."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("label" if title == "per label" else "class")
    for column in columns:
        table.add_column(column, justify="right")
    for i, name in enumerate(names):
        cells = [columns[c][i] for c in columns]
        table.add_row(str(name), *(f"{v:.4f}" if isinstance(v, float) else str(v) for v in cells))
    return table
