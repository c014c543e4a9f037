"""Read the records of an offline W&B run (`run-<id>.wandb`) for assertions.

wandb 0.31 no longer ships a Python reader for its transaction log, so this
decodes the container (LevelDB's log format behind a 7-byte ':W&B' header) and
parses each record with wandb's own protobuf classes.
"""

import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32768
HEADER = 7  # checksum (4), length (2), type (1)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list:
    data = Path(path).read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:7])
    assert ident == b":W&B" and magic == 0xBEE1, f"{path} is not a W&B transaction log"
    records, pending, pos = [], b"", 7
    while pos + HEADER <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < HEADER:  # block trailer padding
            pos += left_in_block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        if pos + HEADER + length > len(data):  # a record still being written
            break
        chunk = data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


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
            out["history"].append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            out["summary"].update({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in record.summary.update})
    return out
