"""`run(cfg)`: one training run, from a composed config to a finished run directory.

Reads like a table of contents: validate, seed, build data, model, loss,
optimizer and loggers, fit, test the best checkpoint, write the summary.
"""

import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlrun import datasets, models
from dlrun.engine import (
    Monitor, RunConsole, build_loggers, device_name, evaluate, fit, load_checkpoint, make_metrics,
    select_device, write_json,
)
from dlrun.engine.checkpoint import atomic_write
from dlrun.errors import DlrunError
from dlrun.losses import build_loss
from dlrun.models.transfer import freeze_backbone, parameter_groups
from dlrun.optim import build_optimizer, build_scheduler
from dlrun.run_record import environment
from dlrun.seeding import seed_everything
from dlrun.validate import validate


def run(cfg: DictConfig, run_dir: str | Path | None = None, job: dict | None = None) -> float:
    """Train, test and record one run; returns the best value of the monitored metric.

    `run_dir` and `job` (name, group, overrides) default to Hydra's for this job, so
    tests can call `run` on a composed config without the CLI.
    """
    started_at, started = datetime.now(timezone.utc), time.perf_counter()
    validate(cfg)
    job = job or hydra_job()
    run_dir = Path(run_dir or job["output_dir"])
    console = RunConsole(cfg.trainer.progress)
    use_pretrained_preprocessing(cfg, job.get("overrides", []), console)
    config = OmegaConf.to_container(cfg, resolve=True)
    atomic_write(run_dir / "config.yaml", lambda f: f.write(OmegaConf.to_yaml(config).encode()))
    console.config_tree(config)

    # ---- build ---------------------------------------------------------------
    seed_everything(cfg.seed)
    device = select_device(cfg.trainer.device)
    loaders, info = build_or_explain("dataset", cfg.dataset.name, lambda: datasets.build(
        cfg.dataset, cfg.loader, seed=cfg.seed, batch_size=cfg.batch_size, cuda=device.type == "cuda"))
    model = build_or_explain("model", cfg.model.name, lambda: models.build(cfg.model, info))
    frozen = freeze_backbone(model, cfg.model.get("freeze"), unfreeze_epoch(cfg.model))
    criterion = build_loss(cfg.loss, info)
    optimizer = build_optimizer(cfg.optimizer, parameter_groups(model, cfg.model.get("backbone_lr")))
    scheduler = build_scheduler(cfg.scheduler, optimizer)
    monitor = Monitor(cfg.trainer.monitor, cfg.trainer.mode, info.task)
    total, trainable = models.count_parameters(model)
    console.say(f"{cfg.model.name}: {total:,} parameters ({trainable:,} trainable) on {device_name(device)}; "
                f"data: {info.task}, input {info.input_shape}, {info.num_outputs} outputs, "
                f"{len(loaders['train'].dataset)}/{len(loaders['val'].dataset)}/{len(loaders['test'].dataset)} "
                "train/val/test samples")
    loggers = build_loggers(cfg.get("logger"), run_dir=run_dir, config=config, name=job.get("name"),
                            group=job.get("group"), say=console.say)

    # ---- fit, then test the best checkpoint ------------------------------------
    ok = False
    try:
        result = fit(model, criterion, optimizer, scheduler, loaders, epochs=cfg.epochs, device=device,
                     monitor=monitor, task=info.task, num_outputs=info.num_outputs, run_dir=run_dir,
                     loggers=loggers, console=console, log_every_n_steps=cfg.trainer.log_every_n_steps,
                     config=config, data_info=asdict(info), frozen=frozen)
        best = load_checkpoint(run_dir / "checkpoints" / "best.pt")
        model.load_state_dict(best["model"])
        test = evaluate(model, loaders["test"], criterion, make_metrics(info.task, info.num_outputs).to(device),
                        device, info.task, split="test")

        # ---- record ---------------------------------------------------------------
        summary = {
            "status": "completed",
            "run_dir": str(run_dir.resolve()),
            "monitor": monitor.metric, "mode": monitor.mode,
            "best": {"epoch": result.best_epoch, "value": result.best_value, "metrics": result.best_metrics},
            "final": result.final_metrics,
            "test": test,
            "epochs": cfg.epochs, "steps": result.steps, "seed": cfg.seed,
            "parameters": {"total": total, "trainable": trainable},
            "data": {"task": info.task, "input_shape": list(info.input_shape), "num_outputs": info.num_outputs,
                     "class_names": list(info.class_names) if info.class_names else None,
                     "target_mean": info.target_mean, "target_std": info.target_std},
            "device": str(device), "device_name": device_name(device),
            "overrides": job.get("overrides", []),
            "started_at": started_at.isoformat(timespec="seconds"),
            "ended_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_time_s": round(time.perf_counter() - started, 3),
            **environment(),
        }
        loggers.log_summary({**test, f"best/{monitor.metric}": result.best_value, "best/epoch": result.best_epoch})
        write_json(summary, run_dir / "summary.json")  # last: its presence marks a finished run
        ok = True
    finally:
        loggers.finish(ok)
    console.results(summary)
    console.say(f"run directory: {run_dir}")
    return result.best_value


def use_pretrained_preprocessing(cfg: DictConfig, overrides: list[str], console) -> None:
    """Pretrained weights come with the resize, crop and normalisation they were trained
    with; use those unless the user chose transforms (an override or a preset)."""
    transforms = cfg.dataset.get("transforms")
    if transforms is None or any(o.lstrip("+~").startswith(("dataset.transforms", "dataset/transforms", "experiment"))
                                 for o in overrides):
        return
    wanted = build_or_explain("model", cfg.model.name, lambda: models.preprocessing(cfg.model))
    if wanted:
        for key, value in wanted.items():
            transforms[key] = value
        console.say(f"transforms for {cfg.model.name} weights {cfg.model.weights}: resize {wanted['resize']}, "
                    f"crop {wanted['random_crop']}, ImageNet normalisation")


def unfreeze_epoch(model_cfg) -> int | None:
    epoch = model_cfg.get("unfreeze_at_epoch")
    if epoch is None:
        return None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise DlrunError(f"model.unfreeze_at_epoch={epoch!r} must be null or an epoch >= 1.")
    if model_cfg.get("freeze") in (None, "none"):
        raise DlrunError("model.unfreeze_at_epoch needs model.freeze=backbone: nothing is frozen to unfreeze.")
    return epoch


def build_or_explain(group: str, name: str, build):
    """Turn a wrongly typed option (a string where a list belongs ...) into a one-line error."""
    try:
        return build()
    except DlrunError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RuntimeError) as err:
        raise DlrunError(f"{group}={name} could not be built from its config ({type(err).__name__}: {err}). "
                         f"Check the {group}.* values: `dlrun --cfg job` prints them.") from err


def hydra_job() -> dict:
    """This job's output dir, readable name, sweep group and overrides, from Hydra."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    overrides = list(hc.overrides.task)
    multirun = hc.mode == RunMode.MULTIRUN
    return {
        "output_dir": hc.runtime.output_dir,
        "name": ",".join(overrides) or None,
        "group": Path(hc.sweep.dir).name if multirun else None,
        "overrides": overrides,
    }
