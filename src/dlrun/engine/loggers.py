"""Where metrics go: metrics.csv always, plus W&B and TensorBoard, behind one interface.

Each logger has these calls: `log_step` (training loss every few steps),
`log_epoch` (one row per epoch), `log_summary` (best and test metrics at the
end), `watch` (the model, for gradient histograms), `log_checkpoint` (the best
checkpoint as an artifact) and `finish`.
"""

import csv
import json
import logging
import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

from dlrun.errors import DlrunError, first_line

log = logging.getLogger("dlrun")


class Logger:
    """The interface; every call does nothing unless a logger overrides it."""

    def run_id(self) -> str | None:
        return None

    def log_step(self, metrics: dict, step: int) -> None:
        pass

    def log_epoch(self, row: dict, step: int) -> None:
        pass

    def log_summary(self, summary: dict) -> None:
        pass

    def watch(self, model) -> None:
        pass

    def log_checkpoint(self, path: Path, metadata: dict) -> None:
        pass

    def finish(self, ok: bool) -> None:
        pass


class CSVLogger(Logger):
    """metrics.csv: one row per epoch, flushed as it is written."""

    def __init__(self, path: Path, columns: list[str]):
        self.path = Path(path)
        self.columns = list(columns)
        self.new = True
        if self.path.is_file():  # a resumed run appends under the header it has
            with open(self.path, newline="") as f:
                self.columns = next(csv.reader(f), None) or self.columns
            self.new = False


    def log_epoch(self, row: dict, step: int) -> None:
        new, self.new = self.new, False
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
            f.flush()
            os.fsync(f.fileno())


def wandb_has_api_key() -> bool:
    """An API key is configured: WANDB_API_KEY, or a `wandb login` entry in ~/.netrc (or $NETRC)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        entry = netrc.netrc(os.environ.get("NETRC") or None).authenticators(host)
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False
    return bool(entry and entry[2])


def wandb_mode(mode: str) -> str:
    """`auto`: WANDB_MODE when the user set it, else online with an API key, else offline."""
    valid = ("auto", "online", "offline", "disabled")
    if mode not in valid:
        raise DlrunError(f"logger.wandb.mode={mode!r} is not valid: use one of {', '.join(valid)}.")
    if mode != "auto":
        return mode
    if os.environ.get("WANDB_MODE") in ("online", "offline", "disabled"):
        return os.environ["WANDB_MODE"]
    return "online" if wandb_has_api_key() else "offline"


def truncate_metrics(path: Path, before_epoch: int) -> None:
    """Keep the rows of epochs before `before_epoch` (a resume rewrites the later ones), atomically."""
    if not path.is_file():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [r for r in rows[1:] if r and int(r[0]) < before_epoch]
    if len(kept) == len(rows):
        return
    from dlrun.engine.checkpoint import atomic_write

    def write(f):
        import io

        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(kept)
        f.write(text.getvalue().encode())

    atomic_write(path, write)


class WandbLogger(Logger):
    """One W&B run per dlrun run; multirun jobs share a group named after the sweep; a resumed
    run continues its W&B run (same id)."""

    def __init__(self, cfg, *, run_dir: Path, config: dict, name: str | None, group: str | None, say,
                 resume_id: str | None = None):
        import wandb

        self.wandb, self.cfg = wandb, cfg
        mode = wandb_mode(cfg.mode)
        init = dict(
            project=cfg.project, entity=cfg.entity, name=name, group=group, job_type="train",
            tags=list(cfg.tags or []), notes=cfg.notes, config=config, dir=str(run_dir),
            reinit="finish_previous",
            **({"id": resume_id, "resume": "allow"} if resume_id else {}),
        )
        settings = wandb.Settings(init_timeout=float(cfg.init_timeout), console="off", silent=True,
                                  # read per run: wandb's process-wide setup would keep the first value
                                  **({"base_url": os.environ["WANDB_BASE_URL"]} if os.environ.get("WANDB_BASE_URL") else {}))
        (Path(run_dir) / "wandb").mkdir(parents=True, exist_ok=True)
        try:
            self.run = wandb.init(mode=mode, settings=settings, **init)
        except Exception as err:  # unreachable service, bad key ...: never block training on it
            if mode != "online":
                raise
            say(f"[yellow]W&B is not reachable ({type(err).__name__}: {str(err).splitlines()[0][:200]}); logging offline instead.[/]")
            wandb.teardown()  # a fresh service for the offline run: the failed one may hold stale state
            mode = "offline"
            self.run = wandb.init(mode=mode, settings=settings, **init)
        if mode == "offline":
            offline_dir = Path(self.run.dir).parent
            if offline_dir.is_relative_to(Path.cwd()):
                offline_dir = offline_dir.relative_to(Path.cwd())
            say(f"W&B offline run: {offline_dir}  (upload later with: wandb sync {offline_dir})")
        elif mode == "online":
            say(f"W&B run: {self.run.url}")

    def run_id(self) -> str:
        return self.run.id

    def watch(self, model) -> None:
        if self.cfg.get("watch"):
            if self.cfg.watch not in ("gradients", "parameters", "all"):
                raise DlrunError(f"logger.wandb.watch={self.cfg.watch!r} is not valid: use null, gradients, "
                                 "parameters or all.")
            self.run.watch(model, log=self.cfg.watch, log_freq=int(self.cfg.get("watch_log_freq", 100)))

    def log_checkpoint(self, path: Path, metadata: dict) -> None:
        if self.cfg.get("log_model"):
            artifact = self.wandb.Artifact(f"model-{self.run.id}", type="model", metadata=metadata)
            artifact.add_file(str(path), name=Path(path).name)
            self.run.log_artifact(artifact, aliases=["best"])

    def log_step(self, metrics: dict, step: int) -> None:
        self.run.log(metrics, step=step)

    def log_epoch(self, row: dict, step: int) -> None:
        self.run.log(row, step=step)

    def log_summary(self, summary: dict) -> None:
        for key, value in summary.items():
            self.run.summary[key] = value

    def finish(self, ok: bool) -> None:
        try:
            self.run.finish(exit_code=0 if ok else 1)
        except Exception:
            try:   # its service is gone: without this, wandb's own exit hook prints a traceback
                self.wandb.teardown()
            except Exception:
                pass
            raise


class TensorBoardLogger(Logger):
    """TensorBoard event files in <run>/tensorboard: per-step loss, per-epoch metrics and lr, test metrics."""

    def __init__(self, cfg, *, run_dir: Path, config: dict, say):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"), flush_secs=int(cfg.flush_secs))
        self.writer.add_text("config", "```\n" + json.dumps(config, indent=2, default=str) + "\n```", 0)
        say(f"TensorBoard: tensorboard --logdir {Path(run_dir) / 'tensorboard'}")

    def log_step(self, metrics: dict, step: int) -> None:
        for key, value in metrics.items():
            if key != "epoch":
                self.writer.add_scalar(key, value, step)

    def log_epoch(self, row: dict, step: int) -> None:
        for key, value in row.items():
            if key not in ("epoch", "seconds") and isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, row["epoch"])

    def log_summary(self, summary: dict) -> None:
        for key, value in summary.items():
            if isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, 0)

    def finish(self, ok: bool) -> None:
        self.writer.close()


class Loggers:
    """Fans every call out to each logger; `finish` is called once, also on failure."""

    def __init__(self, loggers: list):
        self.loggers = loggers

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
                log.warning("%s failed in %s (%s: %s): it is switched off for the rest of this run; training goes "
                            "on and metrics.csv keeps every epoch", type(logger).__name__, call, type(err).__name__,
                            first_line(err) if str(err).strip() else "")
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


def build_loggers(cfg, *, run_dir: Path, config: dict, name: str | None, group: str | None, say,
                  columns: list[str], resume_id: str | None = None) -> Loggers:
    """metrics.csv always; W&B, TensorBoard and MLflow when chosen (`logger=[wandb,mlflow]`)."""
    known = {"wandb", "tensorboard", "mlflow"}
    unknown = set(cfg or {}) - known
    if unknown:
        raise DlrunError(f"Unknown logger {', '.join(sorted(unknown))}: valid loggers are {', '.join(sorted(known))}.")
    loggers: list = [CSVLogger(Path(run_dir) / "metrics.csv", columns)]
    if cfg and "tensorboard" in cfg:
        loggers.append(TensorBoardLogger(cfg.tensorboard, run_dir=run_dir, config=config, say=say))
    if cfg and "mlflow" in cfg:
        from dlrun.engine.mlflow_logger import MLflowLogger

        loggers.append(MLflowLogger(cfg.mlflow, run_dir=run_dir, config=config, name=name, group=group, say=say))
    if cfg and "wandb" in cfg:
        loggers.append(WandbLogger(cfg.wandb, run_dir=run_dir, config=config, name=name, group=group, say=say,
                                   resume_id=resume_id))
    return Loggers(loggers)
