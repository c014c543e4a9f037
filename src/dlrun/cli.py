"""The `dlrun` command: a Hydra app.

No torch at module level: `dlrun --help` and config-choice errors answer fast;
torch is imported only once a run really starts (in dlrun.run).
"""

import sys
from pathlib import Path

from dlrun.commands import SUBCOMMANDS
from dlrun.compat import (
    hydra_args_parser,
    report_hydra_errors,
    share_hydra_config_repository,
    skip_hydra_mode_composition,
)
from dlrun.config.choices import check_group_choices
from dlrun.config.overrides import hydra_error_message
from dlrun.config.tree import conf_dir, only_known_plugins, register_generated_options, sets_hydra_mode
from dlrun.errors import DlrunError, fail, first_line, message, out_of_memory, unknown_choice


def main() -> None:
    """Console-script entry point: a subcommand, or check the group choices and hand argv to Hydra."""
    # torch.distributed.launch (deprecated, still in old scripts) passes --local-rank, which Hydra rejects;
    # the same number is in LOCAL_RANK.
    sys.argv = [a for a in sys.argv if not a.startswith(("--local-rank=", "--local_rank="))]
    if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS:
        sys.exit(run_subcommand(sys.argv[1], sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1].isidentifier():  # a word, not an override or flag: a mistyped command
        fail(
            unknown_choice(
                "command",
                sys.argv[1],
                SUBCOMMANDS,
                "Training runs take overrides: dlrun key=value ... (see dlrun --help).",
            )
        )
    try:
        check_group_choices(sys.argv[1:])
        if launched_by_torchrun():  # every rank runs this: agree on one run directory first
            from dlrun.distributed.launch import torchrun_overrides

            sys.argv += torchrun_overrides(sys.argv[1:])
        else:  # `srun dlrun ...`: every task of the step runs this
            from dlrun.cluster.slurm_env import shared_run_overrides

            sys.argv += shared_run_overrides(sys.argv[1:])
        check_output_dir(sys.argv[1:])
    except DlrunError as err:
        fail(err)
    register_generated_options()
    if "--help" in sys.argv[1:] or "-h" in sys.argv[1:]:
        # Hydra lists each group's options through a fresh config repository per call
        # (~20 ms each, ~100 calls); one, built once, gives the same listing. Help only.
        share_hydra_config_repository()
    skip_mode_composition(sys.argv[1:])
    report_hydra_errors(lambda err: hydra_error_message(err, sys.argv[1:]))  # in dlrun's words
    hydra_app()


def skip_mode_composition(argv: list[str]) -> None:
    """Hydra composes the whole config once just to read `hydra.mode`, then again to run
    (~0.15 s of every start). Where no config could set hydra.mode (none of dlrun's config
    files does, the command line adds no config folder, no other Hydra plugin could add
    one), the answer is known without composing: none (a run, or a sweep with -m), as Hydra
    would find. Otherwise Hydra composes, and a preset's `hydra.mode: MULTIRUN` holds."""
    if any(
        "hydra.mode" in a
        or "hydra.searchpath" in a
        or a.startswith(("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn"))
        for a in argv
    ):
        return
    if sets_hydra_mode(conf_dir()) or not only_known_plugins():
        return
    skip_hydra_mode_composition()


def launched_by_torchrun() -> bool:
    import os

    return os.environ.get("TORCHELASTIC_RUN_ID") is not None  # as torch.distributed.is_torchelastic_launched()


def run_subcommand(name: str, argv: list[str]) -> int:
    import argparse
    import importlib

    module = importlib.import_module(SUBCOMMANDS[name])
    parser = argparse.ArgumentParser(prog=f"dlrun {name}", description=module.HELP)
    module.add_arguments(parser)
    args = parser.parse_intermixed_args(argv)  # predict RUN --text "..." file.txt: options among the inputs
    try:
        return module.main(args)
    except DlrunError as err:
        fail(err)
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    except Exception as err:  # a bug, or a user's own code failing: its traceback goes to a file
        from dlrun.engine.interrupt import Interrupted

        if isinstance(err, Interrupted):  # training stopped on a signal; the run said how to go on
            return 128 + err.signum
        if out_of_memory(err):
            fail(
                f"out of memory ({type(err).__name__}: {first_line(err)}). Free the device "
                "(other processes), or use a smaller batch where the command takes one (batch_size=N).",
                code=1,
            )
        import tempfile

        run = Path(str(getattr(args, "run", "") or ""))
        unexpected(err, run if str(run) != "." and run.is_dir() else Path(tempfile.gettempdir()) / "dlrun")


def check_output_dir(argv: list[str]) -> None:
    """The run or sweep directory can be created (Hydra would fail making it, with a traceback)."""
    import yaml

    from dlrun.runs.output_dir import check_creatable, configured_dir

    args, _ = hydra_args_parser().parse_known_args(argv)
    if args.help or args.hydra_help or args.shell_completion or args.cfg or args.info:
        return
    hydra_cfg = yaml.safe_load((conf_dir() / "config.yaml").read_text())["hydra"]
    which = "sweep" if args.multirun else "run"
    key = f"hydra.{which}.dir"
    check_creatable(configured_dir(args.overrides, args.multirun, hydra_cfg[which]["dir"]), key)


def hydra_app() -> None:
    import hydra

    @hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
    def _train(cfg):
        from dlrun.checks import validate

        try:
            refuse_unread_additions(cfg)
            validate(cfg)  # before torch is imported: a typo answers in a second
            from dlrun.cluster import requeue
            from dlrun.run import run

            if requeue.requeued():  # a SLURM job started again: it continues the run its first attempt began
                return requeue.continue_run(cfg, hydra_output_dir(), run)
            return run(cfg)
        except DlrunError as err:
            return rejected(err)
        except KeyboardInterrupt:
            fail(f"interrupted; what was written so far is in {hydra_output_dir()}", code=130)
        except Exception as err:
            from dlrun.engine.interrupt import Interrupted

            if isinstance(err, Interrupted):  # a checkpoint was saved and the resume command printed
                from dlrun.cluster.requeue import pass_on

                pass_on(err.signum)  # SLURM's warning signal: submitit requeues the job
                sys.exit(128 + err.signum)
            if out_of_memory(err):
                return rejected(DlrunError(out_of_memory_advice(err, cfg)))
            return unexpected(err)

    _train()


def refuse_unread_additions(cfg) -> None:
    """A `+key=value` that no part of the run reads is refused, not silently ignored."""
    from hydra import compose
    from hydra.core.hydra_config import HydraConfig

    from dlrun.config.overrides import unread_additions

    problems = unread_additions(
        cfg,
        list(HydraConfig.get().overrides.task),
        lambda overrides: compose(config_name="config", overrides=overrides, return_hydra_config=True),
    )
    if problems:
        raise DlrunError(
            problems[0]
            if len(problems) == 1
            else "the config has these problems:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def rejected(err: DlrunError) -> float:
    """A known problem: one message; in a sweep the job is recorded as failed and the sweep goes on."""
    if in_multirun():
        record_failure(hydra_output_dir(), message(err))
        return float("nan")
    discard_if_nothing_trained(hydra_output_dir())
    fail(err)


def out_of_memory_advice(err: Exception, cfg) -> str:
    batch, accum = cfg.get("batch_size"), cfg.trainer.get("grad_accum_steps", 1)
    smaller = max(1, batch // 2) if isinstance(batch, int) else "N/2"
    more = accum * 2 if isinstance(accum, int) else 2
    return (
        f"out of memory with batch_size={batch} ({type(err).__name__}: {first_line(err)}). Use a smaller batch, e.g. "
        f"batch_size={smaller} trainer.grad_accum_steps={more} (the same samples per optimizer step), or a "
        "smaller model or input size."
    )


def unexpected(err: Exception, job_dir: Path | None = None) -> float:
    """An error nobody foresaw (a bug, or a user's own code failing): one short message, the
    traceback in error.log of the run's directory (printed too with DLRUN_DEBUG=1 or
    HYDRA_FULL_ERROR=1). In a sweep the job is recorded as failed and the sweep goes on."""
    import os
    import traceback

    if "1" in (os.environ.get("DLRUN_DEBUG"), os.environ.get("HYDRA_FULL_ERROR")):
        raise err
    short = f"{type(err).__name__}: {first_line(err)}" if message(err).strip() else type(err).__name__
    trace = "".join(traceback.format_exception(err))
    if job_dir is None and in_multirun():
        record_failure(hydra_output_dir(), short, trace)
        return float("nan")
    job_dir = job_dir or hydra_output_dir()
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / "error.log").write_text(trace)
        where = f"The full traceback is in {job_dir / 'error.log'} (DLRUN_DEBUG=1 prints it here)."
    except OSError:
        where = "Run again with DLRUN_DEBUG=1 to see the full traceback."
    fail(f"{short}\n{where}", code=1)


def in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.get().mode == RunMode.MULTIRUN


def record_failure(job_dir: Path, message: str, trace: str = "") -> None:
    from dlrun.runs.failures import record_failure

    where = f" (traceback: {job_dir / 'error.log'})" if trace else ""
    print(f"dlrun: error in job {job_dir.name}: {message}{where}", file=sys.stderr)
    record_failure(job_dir, message, trace)


def hydra_output_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def discard_if_nothing_trained(run_dir: Path) -> None:
    """A run rejected before its first epoch leaves no directory that looks like a run."""
    import shutil

    if run_dir.is_dir() and not (run_dir / "metrics.csv").exists() and not (run_dir / "checkpoints").exists():
        shutil.rmtree(run_dir, ignore_errors=True)
