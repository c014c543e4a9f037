"""Open a finished (or interrupted) run directory: its resolved config, DataInfo and a
checkpoint, and rebuild its model without the training data."""

import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlrun.errors import DlrunError
from dlrun.runs.safety import check_trusted


@dataclass
class SavedRun:
    path: Path
    cfg: DictConfig  # the run's own resolved config (never today's defaults)
    checkpoint: dict  # plain data, read with weights_only=True
    info: "DataInfo"  # noqa: F821 (dlrun.datasets.info.DataInfo, imported lazily)


RUN_GROUPS = ("dataset", "model", "loss", "optimizer", "scheduler", "trainer", "loader")  # every run's config has them
# dlrun's own import paths that moved: a saved config naming the old one still builds.
MOVED = {"dlrun.schedulers.": "dlrun.training.schedulers."}


def load_trusted_config(run_dir: Path, trust=(), overrides=(), data_files: bool = True) -> DictConfig:
    """A run's saved config.yaml with KEY=VALUE `overrides`, its import paths checked against
    the allow-list, and every value held to the rules a new run's config is (dlrun.checks):
    eval, predict, export, resume and reproduce refuse what `dlrun` would. `data_files`:
    whether the data's files must exist (predict and export do not read them)."""
    from dlrun.checks import validate
    from dlrun.config.overrides import merge_overrides

    config_file = Path(run_dir) / "config.yaml"
    if not config_file.is_file():
        raise DlrunError(f"{run_dir} is not a dlrun run directory: it has no config.yaml.")
    cfg = OmegaConf.load(config_file)
    lacking = [group for group in RUN_GROUPS if not isinstance(cfg.get(group), DictConfig)]
    if lacking:
        raise DlrunError(f"{config_file} is not the config of a dlrun run: it has no {', '.join(lacking)}.")
    cfg = merge_overrides(cfg, list(overrides))
    check_trusted(OmegaConf.to_container(cfg), trust, source=str(config_file))
    target = OmegaConf.select(cfg, "scheduler._target_")
    for old, new in MOVED.items():
        if isinstance(target, str) and target.startswith(old):
            cfg.scheduler._target_ = new + target[len(old) :]
    validate(cfg, data_files=data_files)
    return cfg


def checkpoint_to_resume(run_dir: Path) -> Path:
    """last.pt, or the one before it (last.prev.pt) when last.pt is damaged."""
    from dlrun.engine.checkpoint import load_checkpoint, previous

    last = run_dir / "checkpoints" / "last.pt"
    problems = []
    for candidate in (last, previous(last)):
        if not candidate.is_file():
            problems.append(f"{candidate.name}: missing")
            continue
        try:
            state = load_checkpoint(candidate)
        except Exception as err:  # truncated or corrupt
            problems.append(f"{candidate.name}: unreadable ({type(err).__name__})")
            continue
        if "train_state" not in state:
            problems.append(f"{candidate.name}: written by an older dlrun without resume state")
            continue
        if problems:
            print(f"warning: {'; '.join(problems)}; resuming from {candidate.name} instead", file=sys.stderr)
        return candidate
    raise DlrunError(
        f"{run_dir} has no checkpoint to resume from ({'; '.join(problems)}). "
        "Start it again with `dlrun reproduce` or a new `dlrun` run."
    )


def load_run(path, checkpoint: str = "best", trust=(), overrides=(), data_files: bool = False) -> SavedRun:
    """The run at `path`, its config checked by load_trusted_config (with `overrides`).
    What the directory alone shows is checked before torch is imported."""
    run_dir = Path(path).expanduser()
    if not run_dir.is_dir():
        raise DlrunError(f"{path}: no such run directory.")
    cfg = load_trusted_config(run_dir, trust, overrides, data_files)
    if checkpoint not in ("best", "last"):
        raise DlrunError(f"--checkpoint {checkpoint!r} is not valid: use best or last.")
    ckpt_file = run_dir / "checkpoints" / f"{checkpoint}.pt"
    if not ckpt_file.is_file():
        raise DlrunError(f"{run_dir} has no checkpoints/{checkpoint}.pt: the run did not finish an epoch.")

    from dlrun.datasets.info import DataInfo
    from dlrun.engine.checkpoint import load_checkpoint

    try:
        state = load_checkpoint(ckpt_file)
    except Exception as err:  # truncated or corrupt file
        raise DlrunError(f"{ckpt_file} could not be read ({type(err).__name__}: {str(err).splitlines()[0]}).") from err
    if not state.get("data_info"):
        raise DlrunError(f"{ckpt_file} was written by an older dlrun without the data description it needs.")
    return SavedRun(run_dir, cfg, state, DataInfo.from_dict(state["data_info"]))


def rebuild_model(run: SavedRun):
    """The run's architecture with the checkpoint's weights, in eval mode, on the CPU."""
    from dlrun import models

    model = models.build(run.cfg.model, run.info, load_weights=False)
    try:
        model.load_state_dict(run.checkpoint["model"])
    except RuntimeError as err:  # missing / unexpected keys, or tensors of other shapes
        details = [line.strip() for line in str(err).splitlines()[1:] if line.strip()]
        raise DlrunError(
            f"the checkpoint in {run.path} does not fit the model its config.yaml builds "
            f"(model={run.cfg.model.name}): {(details[0][:300] if details else str(err)).rstrip('.')}. Was config.yaml "
            "edited after training, or the checkpoint copied from another run?"
        ) from err
    return model.eval()
