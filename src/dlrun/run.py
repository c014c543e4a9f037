"""`run(cfg)`: one training run, from a composed config to a finished run directory.

Reads like a table of contents: validate, seed, build data, model, loss,
optimizer and loggers, fit, test the best checkpoint, write the summary.
"""

import os
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from dlrun import datasets, models
from dlrun.engine import (
    RunConsole, build_loggers, device_name, evaluate, fit, load_checkpoint, make_metrics, select_device, write_json,
)
from dlrun.engine.interrupt import Interrupted, stop_on_signals
from dlrun.engine.loop import Parts
from dlrun.engine.metrics import metric_names
from dlrun.engine.monitor import Monitor
from dlrun.engine.plan import plan_from_config
from dlrun.engine.state import TrainState
from dlrun.engine.averaging import Averages
from dlrun.engine.checkpoint import atomic_write
from dlrun.engine.loggers import Loggers
from dlrun.cluster import slurm_env
from dlrun.distributed import ranks
from dlrun.distributed.launch import started_by_dlrun, train_in_processes
from dlrun.distributed.topology import topology
from dlrun.datasets.batch_mix import build_mix
from dlrun.errors import DlrunError
from dlrun.training.losses import build_loss, check_loss
from dlrun.models.fit_check import check_fits
from dlrun.models.transfer import freeze_backbone, parameter_groups
from dlrun.training.optimizers import build_optimizer
from dlrun.training.schedulers import build_schedule
from dlrun.search.trial import TrialPruning, search_job
from dlrun.runs.run_record import environment
from dlrun.seeding import seed_everything
from dlrun.checks import validate


def run(cfg: DictConfig, run_dir: str | Path | None = None, job: dict | None = None,
        resume_from: Path | None = None, saved_config: bool = False, search=None) -> float:
    """Train, test and record one run; returns the best value of the monitored metric.

    `run_dir` and `job` (name, group, overrides) default to Hydra's for this job, so
    tests can call `run` on a composed config without the CLI. `resume_from`: a
    checkpoint of this run to continue from (`dlrun resume`). `saved_config`: `cfg` is a
    run's resolved config (reproduce), already holding the transforms it trained with.
    `search`: the Optuna trial this run is (dlrun.search.trial.SearchJob), found from Hydra
    when `job` is not given; the workers of a many-process trial get it from their parent.
    """
    started_at, started = datetime.now(timezone.utc), time.perf_counter()
    validate(cfg)
    search = search or (search_job() if job is None else None)   # a trial of dlrun's Optuna sweeper, or None
    job = job or hydra_job(search)
    run_dir = Path(run_dir or job["output_dir"])
    console = RunConsole(cfg.trainer.progress if slurm_env.task_index() == 0 else "none")  # one SLURM task prints
    if resume_from is None and not saved_config:
        use_pretrained_preprocessing(cfg, job.get("overrides", []), console)
    config = OmegaConf.to_container(cfg, resolve=True)
    if resume_from is None and ranks.is_main():
        atomic_write(run_dir / "config.yaml", lambda f: f.write(OmegaConf.to_yaml(config).encode()))
    if not ranks.distributed():
        if resume_from is None:
            console.config_tree(config)
        nodes = topology(cfg.trainer, gpu_count=torch.cuda.device_count)
        if nodes.world_size > 1:  # many processes: they train, this one waits for them
            return train_in_processes(config, run_dir, job, nodes, resume_from, search)
    if not ranks.is_main():
        console = RunConsole("none")  # rank 0 alone prints

    # ---- build ---------------------------------------------------------------
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():  # set for each of a search's concurrent trials
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))  # also when torch had started its pool before
    seed_everything(cfg.seed)
    device = ranks.local_device(select_device(cfg.trainer.device))
    configure_determinism(cfg.trainer.deterministic)
    plan = plan_from_config(cfg.trainer, cfg.epochs, device)
    loaders, info, model, frozen, criterion, optimizer = build_training(cfg, device)
    chosen = cfg.trainer.get("metrics")   # trainer.metrics: default or a list of names
    val_metrics = make_metrics(info.task, info.num_outputs, selection=chosen).to(device)
    monitor = Monitor(cfg.trainer.monitor, cfg.trainer.mode, info.task, val_metrics.higher_is_better(), plan.patience,
                      plan.min_delta)
    schedule = build_schedule(cfg.scheduler, optimizer, monitor_mode=monitor.mode,
                              total_steps=plan.epochs * plan.optimizer_steps_per_epoch(len(loaders["train"])))
    scaler = torch.amp.GradScaler(device.type, enabled=plan.precision == "16")
    averages = Averages(model, cfg.trainer, optimizer, plan.epochs)   # EMA / SWA of the weights, when asked
    total, trainable = models.count_parameters(model)
    console.say(f"{cfg.model.name}: {total:,} parameters ({trainable:,} trainable) on {device_name(device)}; "
                f"data: {info.task}, input {info.input_shape}, {info.num_outputs} outputs, "
                f"{len(loaders['train'].dataset)}/{len(loaders['val'].dataset)}/{len(loaders['test'].dataset)} "
                "train/val/test samples")
    state, wandb_id = None, None
    if resume_from is not None:
        state, wandb_id = restore(resume_from, model, optimizer, schedule, scaler, run_dir, console, averages)
    loggers = build_loggers(cfg.get("logger"), run_dir=run_dir, config=config, name=job.get("name"),
                            group=job.get("group"), say=console.say, resume_id=wandb_id,
                            columns=["epoch", "train/loss", *metric_names(info.task, info.num_outputs, "val", chosen), "lr",
                                     "seconds"]
                            ) if ranks.is_main() else Loggers([])
    loggers.watch(model)
    pruning = TrialPruning(search) if search else None
    trained = ranks.wrap_ddp(model, device, cfg.trainer.get("sync_batchnorm", False))  # DDP with several processes
    mix = build_mix(cfg.dataset.get("transforms"), info, criterion.loss)   # MixUp / CutMix, when asked
    parts = Parts(torch.compile(trained) if cfg.trainer.compile else trained, criterion, optimizer, schedule, scaler,
                  loaders, frozen, averages, mix)
    record = {"config": config, "data_info": asdict(info), "wandb_id": loggers.run_id(), "world_size": ranks.world_size(),
              "job": {k: v for k, v in job.items() if k != "output_dir"}}

    # ---- fit, then test the best checkpoint ------------------------------------
    ok = False
    try:
        with stop_on_signals() as stop:
            result = fit(parts, plan, device=device, monitor=monitor, task=info.task, metrics=val_metrics,
                         run_dir=run_dir, loggers=loggers, console=console, record=record, state=state, stop=stop,
                         pruning=pruning)
        ranks.barrier()  # rank 0 has written best.pt
        best = load_checkpoint(run_dir / "checkpoints" / "best.pt")
        model.load_state_dict(best["model"])
        test = evaluate(model, loaders["test"], criterion, val_metrics, device, info.task, split="test")

        # ---- record ---------------------------------------------------------------
        done = result.state
        status = "pruned" if done.pruned_epoch else "completed"
        summary = {
            "status": status,
            **({"pruned_at_epoch": done.pruned_epoch} if done.pruned_epoch else {}),
            **({"search": {"study": search.study_name, "trial": search.trial_number}} if search else {}),
            "run_dir": str(run_dir.resolve()),
            "monitor": monitor.metric, "mode": monitor.mode,
            "best": {"epoch": done.best_epoch, "value": done.best_value, "metrics": done.best_metrics},
            "final": result.final_metrics,
            "test": test,
            "stopped_early": done.stopped,
            "epochs": plan.epochs, "steps": done.step, "seed": cfg.seed, "resumed": resume_from is not None,
            "parameters": {"total": total, "trainable": trainable},
            "data": {"task": info.task, "input_shape": list(info.input_shape), "num_outputs": info.num_outputs,
                     "class_names": list(info.class_names) if info.class_names else None,
                     "target_mean": info.target_mean, "target_std": info.target_std},
            "device": str(device), "device_name": device_name(device), "precision": plan.precision,
            **({"peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1)}
               if device.type == "cuda" else {}),
            "distributed": ranks.describe(device),
            "overrides": job.get("overrides", []),
            "started_at": started_at.isoformat(timespec="seconds"),
            "ended_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_time_s": round(time.perf_counter() - started, 3),
            **environment(),
        }
        loggers.log_summary({**test, f"best/{monitor.metric}": done.best_value, "best/epoch": done.best_epoch,
                             **({"trial/number": search.trial_number, "trial/state": status} if search else {})})
        loggers.log_checkpoint(run_dir / "checkpoints" / "best.pt",
                               {"epoch": done.best_epoch, monitor.metric: done.best_value, **test})
        if ranks.is_main():
            write_json(summary, run_dir / "summary.json")  # last: its presence marks a finished run
        ok = True
    except Interrupted as stop:
        if ranks.is_main() and not started_by_dlrun():  # else the dlrun process that started this one says it
            stop.tell(run_dir)
        raise
    finally:
        loggers.finish(ok)
    console.results(summary)
    if ranks.is_main():
        print(f"run directory: {run_dir}")  # always, also with trainer.progress=none
    return done.best_value


def build_training(cfg: DictConfig, device: torch.device):
    """(loaders, DataInfo, model on `device`, frozen backbone or None, criterion, optimizer): the
    data, model, loss and optimizer of the composed run (also what `dlrun lr-find` trains)."""
    loaders, info = build_or_explain("dataset", cfg.dataset.name, lambda: datasets.build(
        cfg.dataset, cfg.loader, seed=cfg.seed, batch_size=ranks.batch_per_rank(cfg.batch_size),
        device=device, shard=(ranks.rank(), ranks.world_size()) if ranks.distributed() else None))
    model = build_or_explain("model", cfg.model.name, lambda: models.build(cfg.model, info))
    frozen = freeze_backbone(model, cfg.model.get("freeze"), unfreeze_epoch(cfg.model))
    model.to(device, memory_format=torch.channels_last if cfg.trainer.channels_last else torch.preserve_format)
    outputs, targets = check_fits(model, loaders["val"].dataset, info, cfg.model, device,  # a shape mismatch,
                                  resizable=cfg.dataset.get("transforms") is not None)  # named before training
    criterion = build_loss(cfg.loss, info).to(device)  # regression losses hold the target scale as buffers
    check_loss(criterion, outputs, targets, cfg.loss)   # the loss takes the data's outputs and targets
    optimizer = build_optimizer(cfg.optimizer, parameter_groups(model, cfg.model.get("backbone_lr")), model)
    return loaders, info, model, frozen, criterion, optimizer


def restore(checkpoint: Path, model, optimizer, schedule, scaler, run_dir: Path, console, averages=None):
    """Load a checkpoint's states for a resume; metrics.csv keeps only the epochs it covers."""
    from dlrun.engine.loggers import truncate_metrics

    saved = load_checkpoint(checkpoint)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    if schedule is not None and saved.get("scheduler") is not None:
        schedule.load_state_dict(saved["scheduler"])
    if saved.get("scaler"):
        scaler.load_state_dict(saved["scaler"])
    if averages:
        averages.load_state_dict(saved.get("averages"))
    state = TrainState.from_dict(saved["train_state"])
    if ranks.is_main():
        truncate_metrics(run_dir / "metrics.csv", before_epoch=state.epoch)
    where = f"epoch {state.epoch}" + (f", batch {state.batch}" if state.batch else "")
    console.say(f"resuming {run_dir} at {where} (optimizer step {state.step})")
    return state, saved.get("wandb_id")


def configure_determinism(on: bool) -> None:
    """trainer.deterministic: torch's deterministic algorithms (and cuBLAS's workspace setting)."""
    if not isinstance(on, bool):
        raise DlrunError(f"trainer.deterministic={on!r} is not valid: use true or false.")
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    if on != torch.are_deterministic_algorithms_enabled():  # the call imports torch._inductor: 1 s
        torch.use_deterministic_algorithms(on)


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


def hydra_job(search=None) -> dict:
    """This job's output dir, readable name, sweep group and overrides, from Hydra. The trials
    of a search are grouped by their study (so a continued study stays one group)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    overrides = list(hc.overrides.task)
    multirun = hc.mode == RunMode.MULTIRUN
    return {
        "output_dir": hc.runtime.output_dir,
        "name": ",".join(overrides) or None,
        "group": search.study_name if search else Path(hc.sweep.dir).name if multirun else None,
        "overrides": overrides,
    }
