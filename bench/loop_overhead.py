"""How much time dlrun's training loop adds over the textbook loop, on the same model and data.

    .venv/bin/python bench/loop_overhead.py                 # CPU
    .venv/bin/python bench/loop_overhead.py --device cuda   # on a GPU
    .venv/bin/python bench/loop_overhead.py --figures --batch-size 64   # the per-epoch figures' cost

Both loops train the same MLP on the same in-memory batches and validate once per
epoch; dlrun's adds metrics (sums on the device), NaN tracking, checkpoints and the
metrics file. Prints the median epoch time of each and the difference.
"""

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from dlrun import datasets, models
from dlrun.config.tree import conf_dir
from dlrun.engine.console import RunConsole
from dlrun.engine.loggers import build_loggers
from dlrun.engine.loop import Parts, fit
from dlrun.engine.monitor import Monitor
from dlrun.engine.plan import plan_from_config
from dlrun.metrics.builtin import make_metrics, metric_names
from dlrun.training.losses import build_loss
from dlrun.training.optimizers import build_optimizer
from dlrun.training.seeding import seed_everything


def setup(cfg, device):
    seed_everything(cfg.seed)
    loaders, info = datasets.build(cfg.dataset, cfg.loader, seed=cfg.seed, batch_size=cfg.batch_size, device=device)
    model = models.build(cfg.model, info).to(device)
    criterion = build_loss(cfg.loss, info).to(device)
    optimizer = build_optimizer(cfg.optimizer, model.parameters())
    return loaders, info, model, criterion, optimizer


def textbook(cfg, device, epochs):
    loaders, info, model, criterion, optimizer = setup(cfg, device)
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.train()
        for inputs, targets in loaders["train"]:
            inputs, targets = inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            total = sum(criterion(model(x.to(device)), y.to(device)).item() for x, y in loaders["val"])
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
        assert total == total  # the validation loss was computed (and read, as dlrun reads its metrics)
    return times, len(loaders["train"].dataset)


def dlrun_loop(cfg, device, epochs):
    loaders, info, model, criterion, optimizer = setup(cfg, device)
    plan = plan_from_config(cfg.trainer, epochs, device)
    metrics = make_metrics(info.task, info.num_outputs).to(device)
    monitor = Monitor("auto", "auto", info.task, metrics.higher_is_better())
    with tempfile.TemporaryDirectory() as run_dir:
        console = RunConsole("none")
        loggers = build_loggers(
            None,
            run_dir=Path(run_dir),
            config={},
            name=None,
            group=None,
            say=console.say,
            columns=["epoch", "train/loss", *metric_names(info.task, info.num_outputs), "lr", "seconds"],
        )
        scaler = torch.amp.GradScaler(device.type, enabled=False)
        fit(
            Parts(model, criterion, optimizer, None, scaler, loaders),
            plan,
            device=device,
            monitor=monitor,
            task=info.task,
            metrics=metrics,
            run_dir=Path(run_dir),
            loggers=loggers,
            console=console,
            record={},
        )
        with open(Path(run_dir) / "metrics.csv") as f:
            times = [float(row["seconds"]) for row in csv.DictReader(f)]
    return times, len(loaders["train"].dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--figures", action="store_true", help="the per-epoch figures' cost: fit() with and without")
    parser.add_argument("--rounds", type=int, default=5, help="with --figures: paired rounds")
    args = parser.parse_args()
    overrides = [
        "dataset=synthetic",
        f"dataset.n_samples={args.samples}",
        "dataset.n_features=256",
        "dataset.n_classes=10",
        "model=mlp",
        "model.hidden=[1024,1024]",
        "model.dropout=0",
        f"batch_size={args.batch_size}",
        "logger=none",
        f"trainer.device={args.device}",
    ]
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    device = torch.device(args.device)
    print(
        f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; MLP 256-1024-1024-10, "
        f"batch {args.batch_size}, {args.epochs} epochs (median of epochs 2..n)"
    )
    if args.figures:
        return figures_overhead(cfg, device, args)
    for name, loop in (("textbook loop", textbook), ("dlrun fit()", dlrun_loop)):
        times, samples = loop(cfg, device, args.epochs)
        median = statistics.median(times[1:] or times)
        print(f"{name:14s} {median:7.3f} s/epoch  {samples / median:10,.0f} train samples/s (incl. validation)")
        if name == "textbook loop":
            reference = median
    print(f"dlrun overhead: {100 * (median - reference) / reference:+.1f} %")


class NoClock:
    """dlrun.engine.throughput.EpochClock doing nothing: the loop as it was before the figures."""

    waited, times = 0.0, ()

    def __init__(self, device):
        pass

    def batches(self, data):
        return data

    def tick(self, samples):
        pass

    def figures(self):
        return {"samples_per_s": 0.0, "step_ms": 0.0, "data_wait": 0.0, "peak_memory_mb": 0.0}


def figures_overhead(cfg, device, args):
    """dlrun's fit() with the per-epoch figures and with a clock that does nothing, in turns
    (`--rounds` pairs): the median epoch time of each, and their paired difference."""
    import dlrun.engine.loop as loop

    real, with_figures, without = loop.EpochClock, [], []
    for _ in range(args.rounds):
        for clock, times in ((real, with_figures), (NoClock, without)):
            loop.EpochClock = clock
            epochs, _ = dlrun_loop(cfg, device, args.epochs)
            times.append(statistics.median(epochs[1:] or epochs))
    loop.EpochClock = real
    on, off = statistics.median(with_figures), statistics.median(without)
    paired = statistics.median(100 * (a - b) / b for a, b in zip(with_figures, without))
    print(f"with the figures    {on:7.4f} s/epoch")
    print(f"without             {off:7.4f} s/epoch")
    print(f"the figures' cost: {paired:+.2f} % (median of {args.rounds} paired rounds)")
    per_batch = clock_cost()
    batch_ms = 1000 * on / (len(range(0, int(args.samples * 0.7225), args.batch_size)) or 1)
    print(
        f"the clock alone: {per_batch * 1e6:.2f} us per batch, {100 * per_batch / (batch_ms / 1000):.3f} % of this "
        f"loop's {batch_ms:.2f} ms batch"
    )


def clock_cost(batches: int = 200_000) -> float:
    """Seconds the EpochClock adds per batch: its iterator wrapper and tick, around nothing."""
    import dlrun.engine.loop as loop

    items = [(None, (0,))] * batches
    started = time.perf_counter()
    for _ in items:
        pass
    bare = time.perf_counter() - started
    clock = loop.EpochClock(torch.device("cpu"))
    started = time.perf_counter()
    for _, targets in clock.batches(iter(items)):
        clock.tick(len(targets))
    clock.figures()
    return (time.perf_counter() - started - bare) / batches


if __name__ == "__main__":
    main()
