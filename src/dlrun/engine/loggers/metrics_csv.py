"""metrics.csv: one row per epoch, flushed and synced as it is written; a resume cuts it
back to the epochs its checkpoint covers."""

import csv
import io
import os
from pathlib import Path

from dlrun.engine.checkpoint import atomic_write
from dlrun.engine.loggers.base import Logger


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
            writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
            if new:
                writer.writeheader()
            writer.writerow(row)
            f.flush()
            os.fsync(f.fileno())


def truncate_metrics(path: Path, before_epoch: int) -> None:
    """Keep the rows of epochs before `before_epoch` (a resume rewrites the later ones), atomically."""
    if not path.is_file():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [r for r in rows[1:] if r and int(r[0]) < before_epoch]
    if len(kept) == len(rows):
        return

    def write(f):
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(kept)
        f.write(text.getvalue().encode())

    atomic_write(path, write)
