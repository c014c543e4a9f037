"""failed.json: a job of a sweep that ended without a result says why, and the sweep goes on
(the report and the Optuna study list it). Its traceback, when there is one, is error.log."""

import json
from pathlib import Path


def record_failure(job_dir: Path, message: str, trace: str = "", extra: dict | None = None) -> None:
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "failed.json").write_text(json.dumps({"error": message, **(extra or {})}, indent=2) + "\n")
    if trace:
        (job_dir / "error.log").write_text(trace)
