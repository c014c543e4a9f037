"""`train(cfg, ...)`: one process's part of a run, from a checked config to summary.json.

Reads like a table of contents: seed, build data, model, loss, optimizer and schedule,
fit (the trackers open only around it and close whatever happens), test the best
checkpoint, write the summary. With several processes each worker runs this, and rank
0 alone prints and writes.
"""

import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from dlrun import models, tasks
from dlrun.datasets.batch_mix import build_mix
from dlrun.distributed import ranks
from dlrun.distributed.launch import started_by_dlrun
from dlrun.engine.averaging import Averages
from dlrun.engine.checkpoint import atomic_write, load_checkpoint, write_json
from dlrun.engine.device import device_name, select_device
from dlrun.engine.interrupt import Interrupted, stop_on_signals
from dlrun.engine.loggers import Loggers, build_loggers
from dlrun.engine.loop import Parts, evaluate, fit
from dlrun.engine.monitor import Monitor
from dlrun.engine.plan import plan_from_config
from dlrun.engine.profiling import build_profiler
from dlrun.engine.throughput import TIMING_COLUMNS
from dlrun.metrics import thresholds
from dlrun.metrics.builtin import make_metrics, metric_names
from dlrun.run.build import (
    build_training,
    configure_determinism,
    in_sweep,
    restore,
    run_console,
    use_thread_budget,
)
from dlrun.run.header import header_lines, job_line
from dlrun.runs.boxes import prediction_boxes
from dlrun.runs.inference import fitted_of, write_tokenizer
from dlrun.runs.masks import prediction_overlays
from dlrun.runs.run_record import run_summary
from dlrun.search.trial import TrialPruning
from dlrun.training.schedulers import build_schedule
from dlrun.training.seeding import seed_everything


def train(cfg: DictConfig, run_dir: Path, job: dict, resume_from: Path | None = None, search=None) -> float:
    """Train, test and record the run in this process; returns the best monitored value.
    `cfg` is checked (dlrun.checks) and config.yaml written by the entry, dlrun.run.run."""
    started_at, started = datetime.now(timezone.utc), time.perf_counter()
    run_dir = Path(run_dir)
    cfg = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)  # a worker gets plain data
    console = run_console(cfg, run_dir, job)

    # ---- build ---------------------------------------------------------------
    use_thread_budget()
    seed_everything(cfg.seed)
    device = ranks.local_device(select_device(cfg.trainer.device))
    configure_determinism(cfg.trainer.deterministic)
    plan = plan_from_config(cfg.trainer, cfg.epochs, device)
    with console.holding():  # what building says (data, a replaced head) comes after the run's first lines
        earlier = run_dir if resume_from is not None else job.get("reproduces")  # a run whose fit to take
        built = build_training(cfg, device, say=console.say, fitted=fitted_of(earlier) if earlier else None)
        if built.batch_search is not None:  # batch_size=auto: the number, said and kept in config.yaml
            console.say(built.batch_search.said())
            if ranks.is_main():
                config_yaml = OmegaConf.to_yaml(OmegaConf.to_container(cfg, resolve=True)).encode()
                atomic_write(run_dir / "config.yaml", lambda f: f.write(config_yaml))
        model, info, chosen = built.model, built.info, cfg.trainer.get("metrics")  # trainer.metrics: default or names
        decide = thresholds.configured(cfg.get("task"), info.num_outputs)  # multi-label decision thresholds
        metrics = make_metrics(info.task, info.num_outputs, selection=chosen, thresholds=decide).to(device)
        monitor = Monitor(
            cfg.trainer.monitor, cfg.trainer.mode, info.task, metrics.higher_is_better(), plan.patience, plan.min_delta
        )
        schedule = build_schedule(
            cfg.scheduler,
            built.optimizer,
            monitor_mode=monitor.mode,
            total_steps=plan.epochs * plan.optimizer_steps_per_epoch(len(built.loaders["train"])),
        )
        scaler = torch.amp.GradScaler(device.type, enabled=plan.precision == "16")
        averages = Averages(model, cfg.trainer, built.optimizer)  # EMA / SWA of the weights, when asked
        total, trainable = models.count_parameters(model)
        if ranks.is_main():
            write_tokenizer(info, run_dir)  # a text run's tokenizer beside its checkpoints
        console.release(
            header_lines(
                cfg,
                job,
                run_dir,
                info,
                [len(built.loaders[s].dataset) for s in ("train", "val", "test")],
                (total, trainable),
                device_name(device),
                plan,
                plan.train_batches(len(built.loaders["train"])),
                monitor,
                ranks.describe_world(),
            )
            if cfg.trainer.print_config != "none"  # also when resuming: the continued run says what it is
            else []
        )
    state, wandb_id = None, None
    if resume_from is not None:
        state, wandb_id = restore(resume_from, model, built.optimizer, schedule, scaler, run_dir, console, averages)
    trained = ranks.wrap_ddp(model, device, cfg.trainer.get("sync_batchnorm", False))  # DDP with several processes
    parts = Parts(
        torch.compile(trained) if cfg.trainer.compile else trained,
        built.criterion,
        built.optimizer,
        schedule,
        scaler,
        built.loaders,
        built.frozen,
        averages,
        mix=build_mix(cfg.dataset.get("transforms"), info, built.criterion.loss),  # MixUp / CutMix, when asked
    )
    pruning = TrialPruning(search) if search else None
    config = OmegaConf.to_container(cfg, resolve=True)
    parts_of_loss = [f"train/{name}" for name in getattr(model, "loss_names", ())]  # a detector's loss components
    columns = [
        "epoch",
        "train/loss",
        *parts_of_loss,
        *metric_names(info.task, info.num_outputs, "val", chosen),
        "lr",
        "seconds",
        *TIMING_COLUMNS,  # where the epoch's time and memory went (dlrun.engine.throughput)
    ]

    # ---- fit, then test the best checkpoint (every tracker run opened here is closed) ----
    with open_loggers(cfg, run_dir, job, config, columns, console.say, resume_id=wandb_id) as loggers:
        loggers.watch(model)
        record = {
            "config": config,
            "data_info": asdict(info),
            "wandb_id": loggers.run_id(),
            "world_size": ranks.world_size(),
            "job": {k: v for k, v in job.items() if k != "output_dir"},
        }
        try:
            with stop_on_signals() as stop:
                result = fit(
                    parts,
                    plan,
                    device=device,
                    monitor=monitor,
                    task=info.task,
                    metrics=metrics,
                    run_dir=run_dir,
                    loggers=loggers,
                    console=console,
                    record=record,
                    state=state,
                    stop=stop,
                    pruning=pruning,
                    profiler=build_profiler(
                        cfg.trainer, device, run_dir, "tensorboard" in (cfg.get("logger") or {}), ranks.is_main()
                    ),
                )
        except Interrupted as stopped:
            if ranks.is_main() and not started_by_dlrun():  # else the dlrun process that started this one says it
                stopped.tell(run_dir)
            raise
        ranks.barrier()  # rank 0 has written best.pt
        model.load_state_dict(load_checkpoint(run_dir / "checkpoints" / "best.pt")["model"])
        if thresholds.tuned(cfg.get("task")):  # multi-label: per label, on the validation split
            tune_thresholds(model, built, metrics, device, info, run_dir, console.say)
        test = evaluate(model, built.loaders["test"], built.criterion, metrics, device, info.task, split="test")
        if tasks.get(info.task).spatial:  # segmentation: a few test images with true and predicted masks
            loggers.log_images(
                "test/predictions", lambda: prediction_overlays(model, built.loaders["test"], info, device)
            )
        if tasks.get(info.task).boxes:  # detection: a few test images with true and predicted boxes
            loggers.log_images("test/predictions", lambda: prediction_boxes(model, built.loaders["test"], info, device))

        # ---- record ---------------------------------------------------------------
        done = result.state
        summary = run_summary(
            run_dir=run_dir,
            state=done,
            monitor=monitor,
            final=result.final_metrics,
            test=test,
            plan=plan,
            cfg=cfg,
            info=info,
            parameters=(total, trainable),
            device=device,
            job=job,
            search=search,
            resumed=resume_from is not None,
            started_at=started_at,
            wall_time=time.perf_counter() - started,
        )
        if built.batch_search is not None:
            summary["batch_size_search"] = built.batch_search.record()
        loggers.log_summary(
            {
                **test,
                f"best/{monitor.metric}": done.best_value,
                "best/epoch": done.best_epoch,
                **({"trial/number": search.trial_number, "trial/state": summary["status"]} if search else {}),
            }
        )
        loggers.log_checkpoint(
            run_dir / "checkpoints" / "best.pt", {"epoch": done.best_epoch, monitor.metric: done.best_value, **test}
        )
        if ranks.is_main():
            write_json(summary, run_dir / "summary.json")  # last: its presence marks a finished run
    console.results(summary)
    if ranks.is_main() and not in_sweep(job):
        print(f"run directory: {run_dir}")  # always, also with trainer.progress=none
    elif ranks.is_main() and search is None:  # a sweep's job: one line (a search's sweeper prints its trial's)
        print(job_line(job, summary, run_dir), flush=True)
    return done.best_value


def open_loggers(cfg, run_dir: Path, job: dict, config: dict, columns: list[str], say, resume_id) -> Loggers:
    """metrics.csv and the chosen trackers, on rank 0 (the other ranks log nothing); used as
    a context manager, it closes every tracker run it opened, whatever fails inside."""
    if not ranks.is_main():
        return Loggers([])
    return build_loggers(
        cfg.get("logger"),
        run_dir=run_dir,
        config=config,
        name=job.get("name"),
        group=job.get("group"),
        say=say,
        resume_id=resume_id,
        columns=columns,
    )


def tune_thresholds(model, built, metrics, device, info, run_dir: Path, say) -> None:
    """task.thresholds=tune: each label's threshold from the best checkpoint's scores on the
    validation split; the test split and the saved run use them."""
    before = evaluate(model, built.loaders["val"], built.criterion, metrics, device, info.task, split="val")
    tuned = thresholds.tune(*metrics.sums.gathered())
    metrics.decide_with(tuned)  # the same validation rows, scored again at the tuned thresholds
    after = metrics.compute().get("f1_macro")
    after = after.item() if after is not None else None
    if ranks.is_main():
        thresholds.save(run_dir, tuned, info.class_names, after)
    f1 = f": val/f1_macro {before['val/f1_macro']:.4f} at 0.5, {after:.4f} tuned" if after is not None else ""
    say(f"thresholds tuned per label on the validation split ({thresholds.FILE}){f1}")
