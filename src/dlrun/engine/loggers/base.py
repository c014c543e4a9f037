"""The interface every logger has; each call does nothing unless a logger overrides it."""

from pathlib import Path


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

    def log_images(self, name: str, images: list) -> None:
        """A few pictures (uint8 arrays, height x width x 3), e.g. predicted masks."""

    def finish(self, ok: bool) -> None:
        pass
