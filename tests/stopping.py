"""Stop an in-process run mid-epoch, as a crash would, then resume it with `dlrun resume`'s own code."""

import argparse

import pytest


class Crash(Exception):
    pass


def crash_then_resume(train, args, run_dir, monkeypatch, at_step: int) -> None:
    """Train `args` into `run_dir`, raise at optimizer step `at_step` (its logging call), resume."""
    from dlrun.commands import resume as resume_command
    from dlrun.engine.loggers import CSVLogger

    def crash(self, metrics, step):
        if step == at_step:
            raise Crash()

    with monkeypatch.context() as patch:
        patch.setattr(CSVLogger, "log_step", crash, raising=False)
        with pytest.raises(Crash):
            train(*args, run_dir=run_dir)
    from dlrun.engine.checkpoint import load_checkpoint

    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["train_state"]["batch"] > 0  # stopped mid-epoch
    assert resume_command.main(argparse.Namespace(run=str(run_dir), trust=[], devices=None)) == 0
