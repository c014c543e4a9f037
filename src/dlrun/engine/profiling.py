"""`trainer.profiler`: where a run's time goes, beyond the per-epoch figures.

simple   wall time per phase of the loop (data, forward, backward, optimizer, validation,
         checkpoint), summed over the run: a table at the end and RUN/profile/phases.json.
         On CUDA each phase ends with a synchronisation, so its time is the device's (the
         figures are honest; the run is a little slower while it is measured)
torch    torch.profiler over a few training steps, on the schedule trainer.profile gives
         (wait, warmup, active, repeat): RUN/profile/trace_<step>.json (a Chrome trace: open
         it in https://ui.perfetto.dev or chrome://tracing), RUN/profile/top_ops.txt (the
         operators that took the most time) and, with logger=tensorboard, the trace in
         TensorBoard's profile plugin format under RUN/tensorboard/profile
"""

import json
import os
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

PHASES = ("data", "forward", "backward", "optimizer", "validation", "checkpoint")


class NoProfiler:
    """trainer.profiler=null: nothing measured, nothing said."""

    def phase(self, name: str):
        return nullcontext()

    def waited(self, seconds: float, batches: int) -> None:
        pass

    def step(self) -> None:
        pass

    def finish(self, say) -> None:
        pass


class PhaseTimer(NoProfiler):
    def __init__(self, device, folder: Path):
        self.device, self.folder = device, folder
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.calls = dict.fromkeys(PHASES, 0)

    @contextmanager
    def phase(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.device.type == "cuda":
                import torch

                torch.cuda.synchronize(self.device)
            self.seconds[name] += time.perf_counter() - started
            self.calls[name] += 1

    def waited(self, seconds: float, batches: int) -> None:
        self.seconds["data"] += seconds
        self.calls["data"] += batches

    def finish(self, say) -> None:
        total = sum(self.seconds.values()) or 1e-9
        rows = {
            name: {
                "seconds": round(self.seconds[name], 4),
                "share": round(self.seconds[name] / total, 4),
                "calls": self.calls[name],
                "ms_per_call": round(1000 * self.seconds[name] / max(1, self.calls[name]), 3),
            }
            for name in PHASES
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        from dlrun.engine.checkpoint import write_json

        write_json(rows, self.folder / "phases.json")
        lines = [f"{'phase':<12}{'seconds':>10}{'share':>8}{'calls':>8}{'ms/call':>10}"]
        lines += [
            f"{n:<12}{r['seconds']:>10.3f}{r['share']:>8.1%}{r['calls']:>8}{r['ms_per_call']:>10.3f}"
            for n, r in rows.items()
        ]
        say(
            "profiler=simple: time per phase of the loop ("
            + str(self.folder / "phases.json")
            + ")\n"
            + "\n".join(lines)
        )


class TorchProfiler(NoProfiler):
    """torch.profiler.profile, stepped once per training batch, on trainer.profile's schedule."""

    def __init__(self, device, folder: Path, settings, tensorboard: Path | None):
        import torch

        os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # Kineto's own lines (start, stop, no GPU) off the console

        self.folder, self.tensorboard, self.written = folder, tensorboard, []
        activities = [torch.profiler.ProfilerActivity.CPU]
        if device.type == "cuda":
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        self.sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        self.steps = (settings.wait + settings.warmup + settings.active) * settings.repeat
        self.taken = 0
        self.profile = torch.profiler.profile(
            activities=activities,
            schedule=torch.profiler.schedule(
                wait=settings.wait, warmup=settings.warmup, active=settings.active, repeat=settings.repeat
            ),
            on_trace_ready=self.ready,
            record_shapes=bool(settings.record_shapes),
            profile_memory=bool(settings.profile_memory),
            with_stack=bool(settings.with_stack),
        )
        with native_stderr_quiet():
            self.profile.start()

    def ready(self, profile) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        trace = self.folder / f"trace_{profile.step_num}.json"
        profile.export_chrome_trace(str(trace))
        (self.folder / "top_ops.txt").write_text(profile.key_averages().table(sort_by=self.sort, row_limit=30) + "\n")
        self.written.append(trace)
        if self.tensorboard is not None:  # the name torch.profiler.tensorboard_trace_handler gives (a trace saves once)
            import shutil
            import socket
            import time

            self.tensorboard.mkdir(parents=True, exist_ok=True)
            name = f"{socket.gethostname()}_{os.getpid()}.{time.time_ns() // 1_000_000}.pt.trace.json"
            shutil.copyfile(trace, self.tensorboard / name)

    def step(self) -> None:
        if self.taken < self.steps:
            with native_stderr_quiet():  # the schedule starts and stops Kineto's trace within step()
                self.profile.step()
            self.taken += 1
            if self.taken == self.steps:
                with native_stderr_quiet():
                    self.profile.stop()

    def finish(self, say) -> None:
        if self.taken < self.steps:  # the run had fewer steps than the schedule: what was recorded
            with native_stderr_quiet():
                self.profile.stop()
        if self.written:
            say(
                f"profiler=torch: {len(self.written)} trace{'s' * (len(self.written) > 1)} in {self.folder} "
                "(open trace_*.json in https://ui.perfetto.dev or chrome://tracing), the top operators in top_ops.txt"
                + (f", TensorBoard's profile in {self.tensorboard}" if self.tensorboard else "")
            )
        else:
            say(
                f"profiler=torch: the run ended after {self.taken} steps, before the schedule's first active step "
                "(trainer.profile.wait + warmup): nothing recorded"
            )


@contextmanager
def native_stderr_quiet():
    """Kineto (torch.profiler's tracer, C++) prints a line at each start and stop to the process's
    stderr whatever its log level ("USDT: ... profiler_start"): file descriptor 2 goes to /dev/null
    for the profiler's own calls only."""
    import os
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def build_profiler(trainer_cfg, device, run_dir: Path, tensorboard: bool, main: bool):
    """The profiler trainer.profiler asks for (rank 0 only; the others run unmeasured)."""
    kind = trainer_cfg.get("profiler")
    folder = Path(run_dir) / "profile"
    if not kind or not main:
        return NoProfiler()
    if kind == "simple":
        return PhaseTimer(device, folder)
    return TorchProfiler(
        device, folder, trainer_cfg.profile, Path(run_dir) / "tensorboard" / "profile" if tensorboard else None
    )


def read_phases(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "profile" / "phases.json").read_text())
