"""Where a training epoch's time and memory went, measured on the host around what the loop
already does (no device synchronisation is added):

    samples_per_s    training samples / the epoch's training time (validation not included)
    step_ms          the median wall time of a training batch, its wait for data included
    data_wait        the share of the training time spent blocked on the loader (next(batch))
    peak_memory_mb   CUDA: torch.cuda.max_memory_allocated over the epoch (tensors); CPU: the
                     process's peak resident memory over the epoch (Linux's VmHWM, reset at
                     each epoch; the loader's worker processes not included)

On a GPU the host runs ahead of the device until a queue fills or the loop reads a value, so a
batch's host time is the device's time per batch once the epoch is under way; the median keeps
the first batches (start-up, the loader's workers) out of step_ms. No torch at module level:
`dlrun compare` and `reproduce` read WALL_CLOCK.
"""

import resource
import statistics
import sys
import time
from pathlib import Path

TIMING_COLUMNS = ("samples_per_s", "step_ms", "data_wait", "peak_memory_mb")
WALL_CLOCK = ("seconds", *TIMING_COLUMNS)  # measurements of time and memory: never equal between runs
DATA_WAIT_HINT = 0.3  # above this share of an epoch waiting on data, the console says what to try


class EpochClock:
    """A training epoch's clock: `batches(data)` wraps the loader's iterator, timing each wait;
    `tick(n)` after each batch's work; `figures()` at the end."""

    def __init__(self, device):
        self.device = device
        reset_peak_memory(device)
        self.started = self.last = time.perf_counter()
        self.waited, self.samples, self.times = 0.0, 0, []

    def batches(self, data):
        while True:
            before = time.perf_counter()
            try:
                batch = next(data)
            except StopIteration:
                return
            self.waited += time.perf_counter() - before
            yield batch

    def tick(self, samples: int) -> None:
        now = time.perf_counter()
        self.times.append(now - self.last)
        self.last = now
        self.samples += samples

    def figures(self) -> dict:
        elapsed = max(self.last - self.started, 1e-9)
        return {
            "samples_per_s": round(self.samples / elapsed, 1),
            "step_ms": round(1000 * statistics.median(self.times), 2) if self.times else 0.0,
            "data_wait": round(min(1.0, self.waited / elapsed), 4),
            "peak_memory_mb": round(peak_memory_mb(self.device), 1),
        }


def reset_peak_memory(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats(device)
        return
    try:  # Linux: "5" resets the process's peak resident set size (VmHWM) to the current one
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        import torch

        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the process's whole life: kB (Linux), B (macOS)
    return peak / (2**20 if sys.platform == "darwin" else 1024)


def data_wait_hint(epoch: int, share: float, loader) -> str:
    """What to try when an epoch waited on its data for more than DATA_WAIT_HINT of its time,
    read off the training loader (a DataLoader, or dlrun's in-memory batches)."""
    tries = []
    workers = getattr(loader, "num_workers", None)
    if workers is not None:  # a DataLoader: decoding and transforms per sample
        tries.append(f"loader.num_workers={max(2, workers * 2)} (now {workers})")
        tries.append("loader.in_memory=true (data held as tensors, cropped and flipped per batch on the device)")
        tries.append("images stored decoded at the size trained, or lighter per-sample transforms")
        if not getattr(loader, "pin_memory", False):
            tries.append("loader.pin_memory=true when training on a GPU")
    else:
        tries.append("fewer or lighter per-batch transforms")
    return (
        f"epoch {epoch} waited on its data for {share:.0%} of its training time (data_wait), the model idle "
        f"meanwhile. Try {'; '.join(tries)}."
    )


def totals(rows: list[dict]) -> dict:
    """summary.json's figures over the epochs of metrics.csv: mean samples/s and data wait, the
    median of the epochs' step times, the highest peak memory."""
    rows = [r for r in rows if r.get("samples_per_s") not in (None, "")]
    if not rows:
        return {}
    column = {name: [float(r[name]) for r in rows] for name in TIMING_COLUMNS}
    return {
        "samples_per_s": round(statistics.mean(column["samples_per_s"]), 1),
        "step_ms": round(statistics.median(column["step_ms"]), 2),
        "data_wait": round(statistics.mean(column["data_wait"]), 4),
        "peak_memory_mb": max(column["peak_memory_mb"]),
    }
