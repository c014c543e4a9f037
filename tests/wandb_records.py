"""Read what an offline W&B run (`run-<id>.wandb`) holds, for assertions. The transaction
log's format is wandb's private one: dlrun.compat.read_wandb_log reads it (and
tests/test_compat.py checks it against the installed wandb)."""

from pathlib import Path

from dlrun.compat import read_wandb_log as read_records

__all__ = ["read_records", "run_records"]


def run_records(offline_run_dir: Path) -> dict:
    """{'run': RunRecord, 'config': {key: value}, 'history': [{key: value}], 'summary': {key: value}}."""
    import json
    import time

    (log,) = Path(offline_run_dir).glob("run-*.wandb")
    deadline = time.monotonic() + 20
    records = read_records(log)
    # wandb's core process may still be writing after run.finish() returns on a busy machine:
    # wait for the closing "exit" record before reading
    while not any(r.WhichOneof("record_type") == "exit" for r in records) and time.monotonic() < deadline:
        time.sleep(0.2)
        records = read_records(log)
    out = {"run": None, "config": {}, "history": [], "summary": {}}
    for record in records:
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run"] = record.run
            out["config"].update({i.key: json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "config":
            out["config"].update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            out["history"].append(
                {(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in record.history.item}
            )
        elif kind == "summary":
            out["summary"].update(
                {(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in record.summary.update}
            )
    return out
