"""What a run is built from, read from its checked config: the data, the model, the loss and
the optimizer (`build_training`, also what `dlrun lr-find` trains), and the few run-wide
settings around them (console, determinism, a pretrained model's preprocessing)."""

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import nn

from dlrun import datasets, models
from dlrun.cluster import slurm_env
from dlrun.datasets.info import DataInfo
from dlrun.distributed import ranks
from dlrun.engine.checkpoint import load_checkpoint
from dlrun.engine.console import RunConsole
from dlrun.engine.state import TrainState
from dlrun.errors import DlrunError
from dlrun.models.fit_check import check_fits
from dlrun.models.transfer import freeze_backbone, parameter_groups
from dlrun.training.losses import build_loss, check_loss
from dlrun.training.optimizers import build_optimizer


@dataclass
class Training:
    """The built pieces of a run, before the loop wraps them (DDP, torch.compile)."""

    loaders: dict  # {"train", "val", "test"}
    info: DataInfo
    model: nn.Module  # on the training device
    frozen: object | None  # dlrun.models.transfer.Frozen, with model.freeze=backbone
    criterion: nn.Module
    optimizer: torch.optim.Optimizer
    batch_search: object | None = None  # batch_size=auto: dlrun.training.batch_size.Search


def build_training(cfg: DictConfig, device: torch.device, say=None, fitted: dict | None = None) -> Training:
    """The data, model, loss and optimizer of the composed run. `say`: told when a model's
    last layer is replaced to fit the data. `fitted`: what the data learnt from its training
    split for this run before (datasets.fit); with several processes rank 0 learns it for all."""
    if fitted is None and ranks.distributed():
        fitted = ranks.broadcast_from_main(
            build_or_explain("dataset", cfg.dataset.name, lambda: datasets.fit(cfg.dataset))
            if ranks.is_main()
            else None
        )
    bundle = build_or_explain("dataset", cfg.dataset.name, lambda: datasets.build_bundle(cfg.dataset, fitted))

    def loaders_for(batch_size: int) -> dict:
        return build_or_explain(
            "dataset",
            cfg.dataset.name,
            lambda: datasets.loaders_of(
                bundle,
                cfg.dataset,
                cfg.loader,
                seed=cfg.seed,
                batch_size=batch_size,
                device=device,
                shard=(ranks.rank(), ranks.world_size()) if ranks.distributed() else None,
            ),
        )

    auto = cfg.batch_size == "auto"  # the largest that fits: searched below, once the model is built
    loaders, info = loaders_for(64 if auto else ranks.batch_per_rank(cfg.batch_size)), bundle.info
    model = build_or_explain("model", cfg.model.name, lambda: models.build(cfg.model, info, say=say))
    frozen = freeze_backbone(model, cfg.model.get("freeze"), cfg.model.get("unfreeze_at_epoch"))
    model.to(device, memory_format=torch.channels_last if cfg.trainer.channels_last else torch.preserve_format)
    outputs, targets = check_fits(
        model,
        loaders["val"].dataset,
        info,
        cfg.model,
        device,  # a shape mismatch,
        resizable=cfg.dataset.get("transforms") is not None,
        collate=getattr(loaders["val"], "collate_fn", None),  # a DataLoader's (detection: lists; text: padded ids)
    )  # named before training
    criterion = build_loss(cfg.loss, info).to(device)  # regression losses hold the target scale as buffers
    check_loss(criterion, outputs, targets, cfg.loss)  # the loss takes the data's outputs and targets
    optimizer = build_optimizer(cfg.optimizer, parameter_groups(model, cfg.model.get("backbone_lr")), model)
    search = None
    if auto:
        search = auto_batch_size(cfg, model, criterion, loaders, device)
        cfg.batch_size = search.chosen  # config.yaml, the checkpoints and the header get the number
        loaders = loaders_for(search.chosen)
    return Training(loaders, info, model, frozen, criterion, optimizer, search)


def auto_batch_size(cfg: DictConfig, model, criterion, loaders: dict, device: torch.device):
    """batch_size=auto's search (dlrun.training.batch_size) on the run's model and validation samples."""
    from contextlib import nullcontext

    from dlrun.engine.plan import plan_from_config
    from dlrun.training.batch_size import find_batch_size

    if ranks.distributed():
        raise DlrunError("batch_size=auto searches one process's batch: find it with one process and give the number.")
    dtype = plan_from_config(cfg.trainer, cfg.epochs, device).autocast_dtype
    return find_batch_size(
        model,
        criterion,
        lambda copy: build_optimizer(cfg.optimizer, parameter_groups(copy, cfg.model.get("backbone_lr")), copy),
        next(iter(loaders["val"])),
        len(loaders["train"].dataset),
        device,
        cfg.trainer.get("max_memory_gb"),
        torch.autocast(device.type, dtype=dtype) if dtype else nullcontext(),
    )


def build_or_explain(group: str, name: str, build):
    """Turn a wrongly typed option (a string where a list belongs ...) into a one-line error."""
    try:
        return build()
    except DlrunError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RuntimeError) as err:
        raise DlrunError(
            f"{group}={name} could not be built from its config ({type(err).__name__}: {err}). "
            f"Check the {group}.* values: `dlrun --cfg job` prints them."
        ) from err


def restore(checkpoint: Path, model, optimizer, schedule, scaler, run_dir: Path, console, averages=None):
    """Load a checkpoint's states for a resume; metrics.csv keeps only the epochs it covers.
    Returns (TrainState, the W&B run id or None)."""
    from dlrun.engine.loggers.metrics_csv import truncate_metrics

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


def run_console(cfg: DictConfig, run_dir: Path | None = None, job: dict | None = None) -> RunConsole:
    """Rank 0 of the first SLURM task prints, and keeps the run's lines in its train.log;
    every other process is quiet. A sweep's job keeps them there only (its console line
    comes when it ends)."""
    if not ranks.is_main() or slurm_env.task_index() != 0:
        return RunConsole("none")
    log_file = Path(run_dir) / "train.log" if run_dir is not None else None
    return RunConsole(cfg.trainer.progress, log_file=log_file, echo=not in_sweep(job or {}))


def in_sweep(job: dict) -> bool:
    """A job of a multirun or a search (its runs share a group)."""
    return job.get("group") is not None


def use_thread_budget() -> None:
    """OMP_NUM_THREADS, set for each of a search's concurrent trials, also when torch had
    started its thread pool before."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def configure_determinism(on: bool) -> None:
    """trainer.deterministic: torch's deterministic algorithms (and cuBLAS's workspace setting)."""
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    if on != torch.are_deterministic_algorithms_enabled():  # the call imports torch._inductor: 1 s
        torch.use_deterministic_algorithms(on)


def use_pretrained_preprocessing(cfg: DictConfig, overrides: list[str], say) -> None:
    """Pretrained weights come with the resize, crop and normalisation they were trained
    with; use those unless the user chose transforms (an override or a preset)."""
    transforms = cfg.dataset.get("transforms")
    if transforms is None or any(
        o.lstrip("+~").startswith(("dataset.transforms", "dataset/transforms", "experiment")) for o in overrides
    ):
        return
    wanted = build_or_explain("model", cfg.model.name, lambda: models.preprocessing(cfg.model))
    if wanted:
        for key, value in wanted.items():
            transforms[key] = value
        say(
            f"transforms for {cfg.model.name} weights {cfg.model.weights}: resize {wanted['resize']}, "
            f"crop {wanted['random_crop']}, ImageNet normalisation"
        )


def use_model_tokenizer(cfg: DictConfig, say) -> None:
    """model=hf with a model folder tokenises with that model's own tokenizer.json unless
    dataset.tokenizer.path names another: the ids must be the ones its embeddings learnt."""
    tokenizer = cfg.dataset.get("tokenizer")
    if cfg.model.name != "hf" or not cfg.model.get("path") or tokenizer is None or tokenizer.get("path") is not None:
        return
    tokenizer.path = str(cfg.model.path)
    say(f"tokenizer: model.path's own ({cfg.model.path})")
