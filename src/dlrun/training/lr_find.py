"""The learning-rate range test (Smith 2017, as fastai's lr_find and Lightning's Tuner run it):
train on the composed run's data, the rate growing exponentially from `low` to `high` over
`steps` optimizer steps, until the smoothed loss diverges; then put the initial weights back.
The suggestion is the rate where the loss falls fastest (the middle of its steepest descent)."""

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SMOOTHING = 0.9  # exponential moving average of the loss (about the last 10 steps), bias-corrected
DIVERGED = 4.0  # stop once the smoothed loss exceeds this many times its minimum
SKIP_BEGIN, SKIP_END = 10, 1  # the first and last points are left out of the suggestion (as Lightning)
SPAN = 6  # steps on either side over which the suggestion measures the loss's slope


@dataclass
class RangeTest:
    rates: list[float]
    losses: list[float]
    smoothed: list[float]
    stopped_early: bool

    def averaged(self) -> np.ndarray:
        """The loss averaged over SPAN steps on either side (centred, so it does not lag behind
        the rate as the running average that detects divergence does)."""
        window = 2 * SPAN + 1
        return np.convolve(np.pad(np.array(self.losses), SPAN, mode="edge"), np.ones(window) / window, mode="valid")

    def suggestion(self) -> float | None:
        """The rate in the middle of the loss's steepest descent: the slope of the averaged loss
        across SPAN steps on either side (half a decade at the default 100 steps over 8 decades),
        so one lucky batch does not make a point the steepest. None with too few points."""
        losses = self.averaged()
        first, last = max(SKIP_BEGIN, SPAN), len(losses) - SKIP_END - SPAN
        if last - first < 2:
            return None
        slopes = [losses[i + SPAN] - losses[i - SPAN] for i in range(first, last)]
        return self.rates[first + int(np.argmin(slopes))]


def range_test(model, loader, criterion, optimizer, device, *, low: float, high: float, steps: int) -> RangeTest:
    """Run the test; the model and the optimizer are as they were afterwards."""
    weights, optimizer_state = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    rates = [low * (high / low) ** (i / (steps - 1)) for i in range(steps)]
    result = RangeTest([], [], [], stopped_early=False)
    average, best = 0.0, math.inf
    batches = iter(loader)
    model.train()
    for step, rate in enumerate(rates):
        try:
            inputs, targets = next(batches)
        except StopIteration:  # more steps than batches: another pass over the data
            batches = iter(loader)
            inputs, targets = next(batches)
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.zero_grad()
        loss = criterion(model(inputs.to(device)), targets.to(device))
        loss.backward()
        optimizer.step()
        value = loss.item()
        average = SMOOTHING * average + (1 - SMOOTHING) * value
        smoothed = average / (1 - SMOOTHING ** (step + 1))
        result.rates.append(rate)
        result.losses.append(value)
        result.smoothed.append(smoothed)
        if not math.isfinite(smoothed) or (step > SKIP_BEGIN and smoothed > DIVERGED * best):
            result.stopped_early = True
            break
        best = min(best, smoothed)
    model.load_state_dict(weights)
    optimizer.load_state_dict(optimizer_state)
    return result


def write_curve(result: RangeTest, folder: Path, suggested: float | None) -> tuple[Path, Path]:
    """lr_find.csv (rate, loss, smoothed loss) and lr_find.png (the smoothed loss over the rate)."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    table = folder / "lr_find.csv"
    with open(table, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["lr", "loss", "smoothed_loss"])
        writer.writerows(zip(result.rates, result.losses, result.smoothed))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result.rates, result.averaged(), label=f"loss, averaged over {2 * SPAN + 1} steps")
    ax.plot(result.rates, result.losses, alpha=0.3, label="loss")
    if suggested is not None:
        ax.axvline(suggested, color="red", linestyle="--", label=f"suggested lr {suggested:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_ylim(
        bottom=min(0.0, min(result.losses)),
        top=min(max(result.losses[: SKIP_BEGIN + 1] or [1.0]) * 1.5, max(result.losses)),
    )
    ax.legend()
    fig.tight_layout()
    picture = folder / "lr_find.png"
    fig.savefig(picture, dpi=100)
    plt.close(fig)
    return table, picture
