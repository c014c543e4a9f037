"""The few lines a run prints about itself before its first epoch (trainer.print_config=short),
and the one line a sweep's job prints when it ends.

    run       outputs/runs/2026-12-04_20-21-53.376466  (every key: config.yaml)
    config    dataset=digits model=cnn loss=cross_entropy optimizer=adam scheduler=none ...
    changed   epochs=2
    data      digits: classification, 10 classes, 1x8x8 inputs; 1297/230/270 train/val/test samples
    model     cnn: 21,578 parameters (21,578 trainable)
    training  cpu, 1 process; 2 epochs of 21 batches of 64; precision 32; best.pt by val/acc (max)
"""

import os
from pathlib import Path

from dlrun import tasks
from dlrun.errors import plural

GROUPS = (
    "experiment",
    "task",
    "dataset",
    "dataset/transforms",
    "model",
    "loss",
    "optimizer",
    "scheduler",
    "trainer",
    "logger",
)


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when it is below it (shorter to read)."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def model_label(model_cfg) -> str:
    """What model this is: `cnn`, `timm resnet18`, `my_nets.Net`, `resnet18 (weights DEFAULT)`."""
    name = model_cfg.name
    label = {
        "timm": f"timm {model_cfg.get('arch')}",
        "custom": str(model_cfg.get("class_path")),
        "hub": f"{model_cfg.get('repo')}:{model_cfg.get('entrypoint')}",
    }.get(name, name)
    weights = model_cfg.get("weights")
    return f"{label} (weights {weights})" if weights else label


def data_line(name: str, info, sizes: list[int]) -> str:
    what = tasks.get(info.task).outputs_text(info.num_outputs)
    shape = "x".join(map(str, info.input_shape))
    inputs = f"{shape} images" if info.is_image else plural(info.input_shape[0], "feature") + " per row"
    if tasks.get(info.task).boxes:  # a detector takes each image at its own size (and resizes it itself)
        inputs = "images of their own sizes"
    how = info.preprocess or {}
    if how.get("kind") == "text":
        inputs = f"texts of up to {info.input_shape[0]} tokens ({plural(info.vocab_size, 'token')} in the vocabulary)"
    elif how.get("kind") == "audio":
        clip = f"{how['clip_seconds']:g} s clips at {how['sample_rate']} Hz"
        inputs = f"{clip} as {'waveforms' if how['features'] == 'waveform' else how['features']} {shape}"
    return f"{name}: {info.task}, {what}, {inputs}; {'/'.join(map(str, sizes))} train/val/test samples"


def header_lines(
    cfg, job: dict, run_dir: Path, info, sizes, parameters, device, plan, batches, monitor, world
) -> list[str]:
    """The short description of a run: where, which options, what changed, data, model, how."""
    choices = job.get("choices") or {"dataset": cfg.dataset.name, "model": cfg.model.name}
    chosen = " ".join(f"{g}={choices[g]}" for g in GROUPS if choices.get(g) is not None)
    changed = " ".join(job.get("overrides") or []) or "nothing (the defaults)"
    total, trainable = parameters
    processes = (
        f"{world['size']} processes (DistributedDataParallel, {world['backend']} backend"
        + (f", {world['nodes']} nodes" if world["nodes"] > 1 else "")
        + f"; {cfg.batch_size // world['size']} samples per process and batch)"
        if world["size"] > 1
        else "1 process"
    )
    return [
        f"run       {shown_path(run_dir)}  (every key: config.yaml; dlrun --cfg job ... prints them)",
        f"config    {chosen}",
        f"changed   {changed}",
        f"data      {data_line(cfg.dataset.name, info, sizes)}",
        f"model     {model_label(cfg.model)}: {total:,} parameters ({trainable:,} trainable)",
        f"training  {device}, {processes}; {plural(plan.epochs, 'epoch')} of {plural(batches, 'batch')} of "
        f"{cfg.batch_size}; precision {plan.precision}; best.pt by {monitor.metric} ({monitor.mode})",
    ]


def job_line(job: dict, summary: dict, run_dir: Path) -> str:
    """A sweep's job, once it ended: `#2 optimizer=sgd lr=0.01  val/acc 0.9478 (epoch 2)  test/acc 0.95  3.1 s  DIR`."""
    best, test = summary["best"], summary.get("test", {})
    tested = "  ".join(f"{k} {v:.4g}" for k, v in test.items() if k != "test/loss" and isinstance(v, float))
    number = job.get("num")
    return (
        (f"#{number} " if number is not None else "")
        + " ".join(job.get("overrides") or [])
        + f"  {summary['monitor']} {best['value']:.4g} (epoch {best['epoch']})"
        + (f"  {tested}" if tested else "")
        + f"  {summary['wall_time_s']:.1f} s  {shown_path(run_dir)}"
    )
