"""`logger=tensorboard`: TensorBoard event files in <run>/tensorboard."""

import json
from pathlib import Path

from dlrun.engine.loggers.base import Logger


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

    def log_images(self, name: str, images: list) -> None:
        for index, image in enumerate(images):
            self.writer.add_image(f"{name}/{index}", image, 0, dataformats="HWC")

    def finish(self, ok: bool) -> None:
        self.writer.close()
