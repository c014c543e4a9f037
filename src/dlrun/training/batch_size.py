"""`batch_size=auto`: the largest batch whose training step and evaluation step fit in memory,
found before the run and written into its config.yaml and summary.json (so `reproduce` and
`resume` take the number, not the search).

The search: batches of 2, 4, 8 ... (powers of two, up to the training split's size) until one
does not fit, then a binary search between the last that fit and the first that did not, to
1/32 of the size. A trial is two real training steps (forward, loss, backward, the optimizer's
step, on a copy of the model with an optimizer of its own) and one evaluation forward, on the
run's own samples repeated to the size; the size found is tried once more at the end, in the
state the run starts from (CPU kernels and pages the trials left cached), a tenth smaller until
it fits. What "fits" means:

  CUDA  no OutOfMemoryError, and torch.cuda.max_memory_allocated within the budget: 90 % of the
        GPU's memory, or of trainer.max_memory_gb when set (the 10 % margin is for what a whole
        run adds: fragmentation, varying input sizes, the loader's pinned memory; the chosen
        size running out of memory later is Lightning#9625)
  CPU   the process's peak resident memory within 90 % of trainer.max_memory_gb (needed: the CPU
        has no out-of-memory error to back off from, the machine would swap or be killed);
        a size whose memory, extrapolated from the two before it, would pass it is not tried

One batch size serves training and evaluation in dlrun, so a size fits only when both steps do;
evaluation never shrinks it further than that (the opposite of transformers#46809's bug, where
an evaluation OOM shrank the training batch). The random generators are put back as they were,
so the run that follows trains exactly as `batch_size=<the number>` would.
"""

import copy
import ctypes
import gc
import math
import sys
from dataclasses import dataclass, field

import torch

from dlrun.engine.throughput import peak_memory_mb, reset_peak_memory
from dlrun.errors import DlrunError

MARGIN = 0.9  # of the memory budget
STEPS = 2  # training steps a trial takes
LARGEST = 2**16


@dataclass
class Search:
    budget_mb: float
    limit: str  # what the budget is 90 % of, in words
    tried: list = field(default_factory=list)  # {"batch": n, "peak_mb": m | None, "fits": bool}
    chosen: int = 0

    def record(self) -> dict:
        return {"chosen": self.chosen, "budget_mb": round(self.budget_mb, 1), "limit": self.limit, "tried": self.tried}

    def said(self) -> str:
        sizes = ", ".join(f"{t['batch']}{'' if t['fits'] else ' (no)'}" for t in self.tried)
        return f"batch_size=auto: {self.chosen}, the largest that fits in {self.limit} (tried {sizes})"


def find_batch_size(model, criterion, make_optimizer, sample, cap: int, device, max_memory_gb, autocast) -> Search:
    """The search; `sample`: (inputs, targets) of a few of the run's samples; `make_optimizer(model)`:
    a fresh optimizer as the run's; `cap`: the training split's size."""
    search = budget(device, max_memory_gb)
    cap = max(1, min(cap, LARGEST))
    state = torch.random.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None

    def fits(size: int) -> bool:
        return trial(search, size, model, criterion, make_optimizer, sample, device, autocast)

    try:
        fitting, failing, size = 0, None, min(2, cap)
        while True:  # powers of two up to the training split's size
            if not fits(size):
                failing = size
                break
            fitting = size
            if size == cap:
                break
            size = min(size * 2, cap)
        if fitting == 0 and failing > 1 and fits(1):
            fitting = 1
        if fitting == 0:
            raise DlrunError(
                f"batch_size=auto: not even a batch of 1 fits in {search.limit}. Raise trainer.max_memory_gb, or "
                "train a smaller model or input size."
            )
        while failing is not None and failing - fitting > max(1, fitting // 32):  # then halves, to 1/32
            middle = (fitting + failing) // 2
            if fits(middle):
                fitting = middle
            else:
                failing = middle
        # Once more, as the run will start: after every trial, with what they left cached (oneDNN keeps
        # kernels and scratch memory per shape; the allocator keeps pages). A tenth smaller until it fits.
        while not fits(fitting):
            if fitting == 1:
                raise DlrunError(f"batch_size=auto: not even a batch of 1 fits in {search.limit} any more.")
            fitting = max(1, fitting * 9 // 10)
    finally:
        torch.random.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state_all(state[1])
        release(device)
    search.chosen = fitting
    return search


def budget(device, max_memory_gb) -> Search:
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory / 2**20
        if max_memory_gb is not None:
            total = min(total, max_memory_gb * 1024)
            return Search(MARGIN * total, f"90 % of {max_memory_gb:g} GB (trainer.max_memory_gb)")
        return Search(MARGIN * total, f"90 % of the GPU's {total / 1024:.1f} GB")
    if max_memory_gb is None:
        raise DlrunError(
            f"batch_size=auto on the {device.type.upper()} needs trainer.max_memory_gb: the memory the run may use "
            "(e.g. trainer.max_memory_gb=8), as there is no out-of-memory error to back off from. On a GPU it "
            "fills the GPU's memory; or give a number: batch_size=64."
        )
    return Search(MARGIN * max_memory_gb * 1024, f"90 % of {max_memory_gb:g} GB (trainer.max_memory_gb)")


def trial(search: Search, size: int, model, criterion, make_optimizer, sample, device, autocast) -> bool:
    """One training step and one evaluation step at `size`; recorded in `search`."""
    if device.type != "cuda" and (guess := extrapolated(search, size)) is not None and guess > search.budget_mb:
        search.tried.append({"batch": size, "peak_mb": None, "fits": False, "extrapolated_mb": round(guess, 1)})
        return False
    release(device)
    reset_peak_memory(device)
    try:
        copied = copy.deepcopy(model).train()
        optimizer = make_optimizer(copied)
        inputs, targets = (repeated(part, size, device) for part in sample)
        for _ in range(STEPS):  # the second step holds the optimizer's state from the first
            with autocast:
                loss = criterion(copied(inputs), targets)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        copied.eval()
        with torch.no_grad(), autocast:
            copied(inputs)
        peak = peak_memory_mb(device)
        fits = peak <= search.budget_mb
    except torch.cuda.OutOfMemoryError:
        peak, fits = None, False
    finally:
        copied = optimizer = inputs = targets = loss = None  # noqa: F841 (freed before the next trial)
        release(device)
    search.tried.append({"batch": size, "peak_mb": None if peak is None else round(peak, 1), "fits": fits})
    return fits


def extrapolated(search: Search, size: int) -> float | None:
    """The peak memory at `size` by the line through the last two trials that fitted (CPU)."""
    known = [t for t in search.tried if t["fits"] and t["peak_mb"] is not None]
    if len(known) < 2:
        return None
    (a, pa), (b, pb) = [(t["batch"], t["peak_mb"]) for t in known[-2:]]
    if b == a:
        return None
    return pb + (pb - pa) / (b - a) * (size - b)


def repeated(part, size: int, device):
    """A batch of `size` from a few samples, repeated (a tensor, a TextBatch, or a list: detection)."""
    if isinstance(part, torch.Tensor):
        times = math.ceil(size / len(part))
        return part.repeat(times, *[1] * (part.dim() - 1))[:size].to(device)
    if isinstance(part, list):  # detection: images, and targets as dicts of tensors
        return [moved(item, device) for item in (part * math.ceil(size / len(part)))[:size]]
    if hasattr(part, "ids") and hasattr(part, "mask"):  # dlrun.datasets.text.samples.TextBatch
        return type(part)(repeated(part.ids, size, device), repeated(part.mask, size, device))
    raise DlrunError(f"batch_size=auto cannot repeat inputs of type {type(part).__name__}: give a number.")


def release(device) -> None:
    """Memory the last trial freed, given back (CUDA's cache; glibc's free lists, so that the
    next trial's peak resident memory starts from what is really held)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


def moved(item, device):
    if isinstance(item, dict):
        return {key: moved(value, device) for key, value in item.items()}
    return item.to(device) if hasattr(item, "to") else item
