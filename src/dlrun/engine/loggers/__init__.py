"""Where metrics go: metrics.csv always, plus W&B, TensorBoard and MLflow, behind one
interface (base.Logger), one module per backend.

Each logger has these calls: `log_step` (training loss every few steps),
`log_epoch` (one row per epoch), `log_summary` (best and test metrics at the
end), `watch` (the model, for gradient histograms), `log_checkpoint` (the best
checkpoint as an artifact), `log_images` (a few pictures: segmentation's predicted masks)
and `finish`. `Loggers` fans them out and is a context
manager: every tracker run it opened is closed, whatever happens inside.
"""

import logging
from pathlib import Path

from dlrun.engine.loggers.base import Logger
from dlrun.engine.loggers.metrics_csv import CSVLogger, truncate_metrics
from dlrun.errors import DlrunError, first_line

__all__ = ["CSVLogger", "Logger", "Loggers", "build_loggers", "truncate_metrics"]

log = logging.getLogger("dlrun")


class Loggers:
    """Fans every call out to each logger. As a context manager it finishes every logger once
    on the way out, as failed when an exception leaves the block: a tracker run is never
    left open, whatever fails after it was opened."""

    def __init__(self, loggers: list):
        self.loggers = loggers

    def __enter__(self) -> "Loggers":
        return self

    def __exit__(self, kind, error, trace) -> None:
        self.finish(kind is None)

    def run_id(self) -> str | None:
        """The W&B run id, when W&B logs (stored in checkpoints so a resume continues that run)."""
        return next((logger.run_id() for logger in self.loggers if logger.run_id()), None)

    def log_step(self, metrics: dict, step: int) -> None:
        self._each("log_step", metrics, step)

    def log_epoch(self, row: dict, step: int) -> None:
        self._each("log_epoch", row, step)

    def log_summary(self, summary: dict) -> None:
        self._each("log_summary", summary)

    def watch(self, model) -> None:
        self._each("watch", model)

    def log_checkpoint(self, path: Path, metadata: dict) -> None:
        self._each("log_checkpoint", path, metadata)

    def log_images(self, name: str, make) -> None:
        """Pictures from `make()` (called only when a tracker shows pictures) to every tracker."""
        if any(type(logger).log_images is not Logger.log_images for logger in self.loggers):
            self._each("log_images", name, make())

    def _each(self, call: str, *args) -> None:
        """A tracker that fails (its service died, the network went) is switched off with a
        warning and training goes on; metrics.csv (whose failure is a real one) keeps every epoch."""
        for logger in list(self.loggers):
            try:
                getattr(logger, call)(*args)
            except DlrunError:
                raise
            except Exception as err:
                if isinstance(logger, CSVLogger):
                    raise
                self.loggers.remove(logger)
                log.warning(
                    "%s failed in %s (%s: %s): it is switched off for the rest of this run; training goes "
                    "on and metrics.csv keeps every epoch",
                    type(logger).__name__,
                    call,
                    type(err).__name__,
                    first_line(err) if str(err).strip() else "",
                )
                try:
                    logger.finish(False)
                except Exception:
                    pass

    def finish(self, ok: bool) -> None:
        for logger in self.loggers:
            try:
                logger.finish(ok)
            except Exception as err:  # a tracker failing at the end must not hide the run's own result
                log.warning("could not close %s: %s", type(logger).__name__, err)


def build_loggers(
    cfg,
    *,
    run_dir: Path,
    config: dict,
    name: str | None,
    group: str | None,
    say,
    columns: list[str],
    resume_id: str | None = None,
) -> Loggers:
    """metrics.csv always; W&B, TensorBoard and MLflow when chosen (`logger=[wandb,mlflow]`,
    each a key of `cfg`, checked by dlrun.checks.logger). A tracker that fails to open closes
    the ones opened before it."""
    opened = Loggers([CSVLogger(Path(run_dir) / "metrics.csv", columns)])
    cfg = cfg or {}
    try:
        if "tensorboard" in cfg:
            from dlrun.engine.loggers.tensorboard_logger import TensorBoardLogger

            opened.loggers.append(TensorBoardLogger(cfg.tensorboard, run_dir=run_dir, config=config, say=say))
        if "mlflow" in cfg:
            from dlrun.engine.loggers.mlflow_logger import MLflowLogger

            opened.loggers.append(
                MLflowLogger(cfg.mlflow, run_dir=run_dir, config=config, name=name, group=group, say=say)
            )
        if "wandb" in cfg:
            from dlrun.engine.loggers.wandb_logger import WandbLogger

            opened.loggers.append(
                WandbLogger(
                    cfg.wandb, run_dir=run_dir, config=config, name=name, group=group, say=say, resume_id=resume_id
                )
            )
    except BaseException:
        opened.finish(False)
        raise
    return opened
