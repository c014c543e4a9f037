"""`logger=wandb`: one W&B run per dlrun run (offline without an API key)."""

import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

from dlrun.engine.loggers.base import Logger


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
    """`auto`: WANDB_MODE when the user set it, else online with an API key, else offline.
    (logger.wandb.mode's values are checked with the config: dlrun.checks.logger.)"""
    if mode != "auto":
        return mode
    if os.environ.get("WANDB_MODE") in ("online", "offline", "disabled"):
        return os.environ["WANDB_MODE"]
    return "online" if wandb_has_api_key() else "offline"


class WandbLogger(Logger):
    """One W&B run per dlrun run; multirun jobs share a group named after the sweep; a resumed
    run continues its W&B run (same id)."""

    def __init__(
        self,
        cfg,
        *,
        run_dir: Path,
        config: dict,
        name: str | None,
        group: str | None,
        say,
        resume_id: str | None = None,
    ):
        import wandb

        self.wandb, self.cfg = wandb, cfg
        mode = wandb_mode(cfg.mode)
        init = dict(
            project=cfg.project,
            entity=cfg.entity,
            name=name,
            group=group,
            job_type="train",
            tags=list(cfg.tags or []),
            notes=cfg.notes,
            config=config,
            dir=str(run_dir),
            reinit="finish_previous",
            **({"id": resume_id, "resume": "allow"} if resume_id else {}),
        )
        settings = wandb.Settings(
            init_timeout=float(cfg.init_timeout),
            console="off",
            silent=True,
            # read per run: wandb's process-wide setup would keep the first value
            **({"base_url": os.environ["WANDB_BASE_URL"]} if os.environ.get("WANDB_BASE_URL") else {}),
        )
        (Path(run_dir) / "wandb").mkdir(parents=True, exist_ok=True)
        try:
            self.run = wandb.init(mode=mode, settings=settings, **init)
        except Exception as err:  # unreachable service, bad key ...: never block training on it
            if mode != "online":
                raise
            say(
                f"[yellow]W&B is not reachable ({type(err).__name__}: {str(err).splitlines()[0][:200]}); logging offline instead.[/]"
            )
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

    def log_images(self, name: str, images: list) -> None:
        self.run.log({name: [self.wandb.Image(image) for image in images]})

    def finish(self, ok: bool) -> None:
        try:
            self.run.finish(exit_code=0 if ok else 1)
        except Exception:
            try:  # its service is gone: without this, wandb's own exit hook prints a traceback
                self.wandb.teardown()
            except Exception:
                pass
            raise
