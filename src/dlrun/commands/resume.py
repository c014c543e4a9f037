"""`dlrun resume RUN`: continue an interrupted run in its own directory, from its own config."""

from pathlib import Path

from dlrun.commands import add_trust_option

HELP = "continue an interrupted run where it stopped (same directory, same W&B run)"


def add_arguments(parser) -> None:
    parser.add_argument("run", help="the run directory to continue")
    add_trust_option(parser)
    parser.add_argument(
        "--devices",
        type=int,
        metavar="N",
        help="continue on N processes (trainer.devices) instead of as many as before; "
        "from a checkpoint taken between epochs",
    )


def use_devices(cfg, devices: int, saved: dict) -> None:
    """Resume on another number of processes. The data order within an epoch depends on
    the number of processes, so only a checkpoint between epochs can change it."""
    from dlrun.checks.trainer import global_batch_problem
    from dlrun.errors import DlrunError

    if devices < 1:
        raise DlrunError(f"--devices {devices}: use a whole number >= 1.")
    before = saved.get("world_size", 1)
    world = devices * int(cfg.trainer.get("num_nodes", 1))
    if world != before and saved["train_state"]["batch"]:
        raise DlrunError(
            f"this checkpoint was taken mid-epoch on {before} process(es); its epoch can only be "
            f"finished on {before}. Resume without --devices (or from a checkpoint between epochs)."
        )
    if problem := global_batch_problem(cfg.batch_size, world):
        raise DlrunError(f"--devices {devices}: {problem}")
    cfg.trainer.devices = devices


def main(args) -> int:
    from dlrun.errors import DlrunError
    from dlrun.runs.saved_run import checkpoint_to_resume, load_trusted_config

    run_dir = Path(args.run).expanduser()
    cfg = load_trusted_config(run_dir, args.trust)
    if (run_dir / "summary.json").is_file():
        raise DlrunError(f"{run_dir} finished already (it has summary.json): nothing to resume.")
    checkpoint = checkpoint_to_resume(run_dir)
    from dlrun.engine.checkpoint import load_checkpoint  # torch loads only once the checks passed
    from dlrun.engine.interrupt import Interrupted
    from dlrun.run import run

    saved = load_checkpoint(checkpoint)
    job = saved.get("job") or {}
    if args.devices is not None:
        use_devices(cfg, args.devices, saved)
    try:
        run(cfg, run_dir=run_dir, job=job, resume_from=checkpoint)
    except Interrupted as stop:
        return 128 + stop.signum
    return 0
