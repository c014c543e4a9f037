"""SIGINT and SIGTERM (what a cluster sends before preemption), and in a submitit job
SLURM's warning signal (USR2), ask the loop to stop at the next optimizer step, save a
checkpoint and exit; a second SIGINT stops at once."""

import signal
import sys
from contextlib import contextmanager

from dlrun.cluster import slurm_env


class Interrupted(Exception):
    """Training stopped on a signal after saving a resumable checkpoint."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    def tell(self, run_dir) -> None:
        """The one line a person reads after the stop: what happened and how to go on."""
        if self.signum == slurm_env.preemption_signal():
            print(
                f"stopped by SLURM's warning ({self}); a checkpoint was saved; the job requeues itself and "
                f"continues {run_dir}",
                file=sys.stderr,
            )
            return
        also = " (a requeued SLURM job continues by itself)" if slurm_env.job_id() else ""
        print(
            f"stopped by {self}; a checkpoint was saved. Continue with: dlrun resume {run_dir}{also}", file=sys.stderr
        )


class StopFlag:
    def __init__(self):
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None


@contextmanager
def stop_on_signals():
    """Yields a StopFlag that becomes true on SIGINT/SIGTERM (and submitit's USR2); handlers are restored after."""
    flag = StopFlag()
    previous = {}

    def handler(signum, frame):
        if flag and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        flag.signum = signum

    try:
        for sig in (signal.SIGINT, signal.SIGTERM, *filter(None, [slurm_env.preemption_signal()])):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: no signal handling
        pass
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
