"""`dlrun report SWEEP_DIR | RUN_DIR...`: rank runs by their monitored metric; write
report.csv, report.md and report.png."""

from pathlib import Path

HELP = "rank a sweep's runs (or any run directories) and write report.csv, report.md and report.png"


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", help="a multirun folder, or run directories")
    parser.add_argument("--output", "-o", help="where to write the report (default: the sweep folder, or .)")


def main(args) -> int:
    from dlrun.runs.report import job_dirs, print_report, read_job, write_report

    jobs = [read_job(path) for path in job_dirs(args.paths)]
    print_report(jobs)
    default = (
        Path(args.paths[0])
        if len(args.paths) == 1 and not (Path(args.paths[0]) / "config.yaml").is_file()
        else Path(".")
    )
    for path in write_report(jobs, Path(args.output) if args.output else default):
        print(f"wrote {path}")
    return 0
