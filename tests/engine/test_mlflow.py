"""logger=mlflow against a real `mlflow server` (SQLite backend, a free port on 127.0.0.1),
read back through MlflowClient."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from tests.processes import QUIET, dlrun  # noqa: E402

pytestmark = pytest.mark.slow  # an MLflow server and dlrun processes

QUIET_NO_LOGGER = tuple(a for a in QUIET if not a.startswith("logger="))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real MLflow tracking server for this module; its URI."""
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    mlflow_cli = str(Path(sys.executable).parent / "mlflow")
    process = subprocess.Popen(
        [
            mlflow_cli,
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=open(root / "server.log", "w"),
        stderr=subprocess.STDOUT,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
        if process.poll() is not None:
            raise AssertionError((root / "server.log").read_text()[-3000:])
    else:
        process.kill()
        raise AssertionError("mlflow server did not start: " + (root / "server.log").read_text()[-3000:])
    yield uri
    process.terminate()
    process.wait(timeout=30)


def test_a_run_logs_params_epoch_metrics_and_artifacts(server, tmp_path):
    from mlflow.tracking import MlflowClient

    result = dlrun(
        *QUIET_NO_LOGGER,
        "logger=mlflow",
        f"logger.mlflow.tracking_uri={server}",
        "logger.mlflow.experiment=runs",
        "epochs=3",
        "lr=0.002",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run_id = json.loads((tmp_path / "run" / "mlflow_run.json").read_text())["run_id"]
    client = MlflowClient(server)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["lr"] == "0.002" and run.data.params["model.name"] == "cnn"
    assert "lr=0.002" in run.data.tags["dlrun.overrides"] and run.data.tags["dlrun.version"]
    history = client.get_metric_history(run_id, "val/acc")
    assert len(history) == 3 and sorted(m.step for m in history) == sorted({m.step for m in history})
    assert "test/acc" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.yaml", "summary.json"} <= artifacts


def test_a_sweep_is_one_parent_run_with_a_child_per_job(server, tmp_path):
    from mlflow.tracking import MlflowClient

    result = dlrun(
        "-m",
        *QUIET_NO_LOGGER,
        "logger=mlflow",
        f"logger.mlflow.tracking_uri={server}",
        "logger.mlflow.experiment=sweeps",
        "epochs=1",
        "lr=1e-3,1e-2",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    client = MlflowClient(server)
    experiment = client.get_experiment_by_name("sweeps").experiment_id
    runs = client.search_runs([experiment])
    parents = [r for r in runs if r.data.tags.get("dlrun.parent") == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    assert len(parents) == 1 and len(children) == 2
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert {c.data.params["lr"] for c in children} == {"0.001", "0.01"}


def test_an_unreachable_server_never_stops_training(tmp_path):
    result = dlrun(
        *QUIET_NO_LOGGER,
        "logger=mlflow",
        f"logger.mlflow.tracking_uri=http://127.0.0.1:{free_port()}",
        "epochs=1",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "summary.json").is_file() and (tmp_path / "outputs" / "mlflow.db").is_file()
    assert "Creating initial MLflow database tables" not in result.stdout + result.stderr  # MLflow's INFO lines


class Crash(Exception):
    pass


def test_a_resumed_run_continues_its_mlflow_run(train, tmp_path, monkeypatch):
    import argparse

    from mlflow.tracking import MlflowClient

    from dlrun.commands import resume as resume_command
    from dlrun.engine.loggers import CSVLogger

    monkeypatch.chdir(tmp_path)  # the local store: outputs/mlflow.db here
    args = ("logger=mlflow", "epochs=3", "trainer.checkpoint_every_n_steps=5", "trainer.log_every_n_steps=1")

    def crash_at_step_25(self, metrics, step):
        if step == 25:  # in epoch 2
            raise Crash()

    with monkeypatch.context() as patch:
        patch.setattr(CSVLogger, "log_step", crash_at_step_25, raising=False)
        with pytest.raises(Crash):
            train(*args, run_dir=tmp_path / "run")
    first = json.loads((tmp_path / "run" / "mlflow_run.json").read_text())
    assert resume_command.main(argparse.Namespace(run=str(tmp_path / "run"), trust=[], devices=None)) == 0
    assert json.loads((tmp_path / "run" / "mlflow_run.json").read_text()) == first
    client = MlflowClient(first["tracking_uri"])
    run = client.get_run(first["run_id"])
    assert run.info.status == "FINISHED" and "test/acc" in run.data.metrics
    assert len(client.search_runs([run.info.experiment_id])) == 1  # continued, not a second run
    assert max(m.step for m in client.get_metric_history(first["run_id"], "val/acc")) > 25
