"""`dlrun data convert [overrides] --output DIR`: the data set the overrides compose, as shards
(dlrun.datasets.shards) for `dataset=shards dataset.url=DIR`."""

import os
import sys
from pathlib import Path

from dlrun.commands import positive
from dlrun.errors import DlrunError

HELP = "turn a data set into shards: dlrun data convert dataset=image_folder dataset.root=imgs --output shards/"


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=["convert"], help="convert: write the data as shards")
    parser.add_argument("overrides", nargs="*", help="the data, as for training: dataset=image_folder dataset.root=...")
    parser.add_argument("--output", "-o", required=True, help="the folder for the shards and manifest.json")
    parser.add_argument(
        "--samples-per-shard", type=positive(int), default=1000, help="samples in each shard (default 1000)"
    )
    parser.add_argument(
        "--workers", type=positive(int), default=max(1, (os.cpu_count() or 2) - 1), help="processes writing shards"
    )


def main(args) -> int:
    from dlrun.checks import validate
    from dlrun.config.choices import check_group_choices, compose

    output = Path(args.output).expanduser()
    if (output / "manifest.json").exists():
        raise DlrunError(f"{output} holds shards already (manifest.json): choose an empty folder or remove them.")
    check_group_choices(args.overrides)
    cfg = compose(args.overrides)
    if cfg.dataset.name == "shards":
        raise DlrunError("dataset=shards is shards already: convert the data they were made from (its dataset=...).")
    validate(cfg, only_data=True)  # the data's keys: no model trains here

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from dlrun.datasets.shards.convert import convert

    with Progress(
        "converting", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
    ) as bar:  # rich's bar: dlrun's own is the training loop's
        task = bar.add_task("samples", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, total=total, advance=done)

        manifest = convert(cfg.dataset, output, args.samples_per_shard, args.workers, advance)
    counts = manifest["counts"]
    shards = sum(len(s["shards"]) for s in manifest["splits"].values())
    print(
        f"wrote {shards} shards to {output}: {counts['train']}/{counts['val']}/{counts['test']} train/val/test "
        f"samples ({', '.join(dict.fromkeys([manifest['kind'], manifest['task']]))}"
        + (f", {len(manifest['classes'])} classes)" if manifest["classes"] else ")"),
        file=sys.stderr,
    )
    print(f"train from them: dlrun dataset=shards dataset.url={output}", file=sys.stderr)
    return 0
