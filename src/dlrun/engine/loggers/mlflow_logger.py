"""`logger=mlflow`: one MLflow run per dlrun run, through MlflowClient (no global state).

Parameters: the resolved config, flattened to dotted keys. Metrics: the training loss per
logging interval and every epoch's row at its optimizer step (as W&B), the test and best
metrics at the end. Tags: dlrun's version, the git commit, the overrides. Artifacts:
config.yaml, summary.json and, with `log_model`, best.pt. The jobs of a sweep are child runs
of one parent run per sweep; a resumed run continues its MLflow run (its id is kept in the
run directory, mlflow_run.json). A server that cannot be reached never stops training: the
run is logged to the local store (outputs/mlflow.db) instead, and the console says so.
"""

import json
import logging
import os
import time
from pathlib import Path

from dlrun.config.tree import flatten
from dlrun.engine.loggers.base import Logger
from dlrun.errors import DlrunError, first_line

LOCAL_STORE = Path("outputs") / "mlflow.db"  # a SQLite store (MLflow 3 retired the file store)
RUN_FILE = "mlflow_run.json"
SWEEP_TAG = "dlrun.sweep"


def import_mlflow():
    try:
        import mlflow
    except ImportError as err:
        raise DlrunError(
            "logger=mlflow needs MLflow, an optional dependency: pip install 'dlrun[mlflow]' (or pip install mlflow)."
        ) from err
    for name in ("mlflow", "alembic"):  # their INFO lines (creating the database tables ...) stay off the console
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


class MLflowLogger(Logger):
    def __init__(self, cfg, *, run_dir: Path, config: dict, name: str | None, group: str | None, say):
        mlflow = import_mlflow()
        from mlflow.entities import Metric, Param, RunTag

        self.Metric = Metric
        self.cfg, self.run_dir, self.say = cfg, Path(run_dir), say
        uri = cfg.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI") or local_store()
        try:
            self.client, experiment = self._connect(mlflow, uri, cfg.get("experiment") or "dlrun")
        except Exception as err:  # an unreachable or failing server: never stop training for it
            local = local_store()
            say(
                f"[yellow]MLflow at {uri} is not reachable ({type(err).__name__}: {first_line(err)[:160]}); "
                f"logging to the local store {LOCAL_STORE} instead (mlflow ui --backend-store-uri {local}).[/]"
            )
            uri = local
            self.client, experiment = self._connect(mlflow, uri, cfg.get("experiment") or "dlrun")
        self.uri = uri
        saved = self.run_dir / RUN_FILE
        if saved.is_file() and json.loads(saved.read_text()).get("tracking_uri") == uri:  # a resume
            self.mlflow_run = json.loads(saved.read_text())["run_id"]
            self.client.update_run(self.mlflow_run, status="RUNNING")
        else:
            tags = {"dlrun.version": _version(), "mlflow.source.name": "dlrun", "dlrun.overrides": (name or "")[:5000]}
            if group:
                tags[SWEEP_TAG] = group
                tags["mlflow.parentRunId"] = self._parent(experiment, group)
            commit = _git_commit()
            if commit:
                tags["mlflow.source.git.commit"] = commit
            run = self.client.create_run(experiment, run_name=name or self.run_dir.name, tags=tags)
            self.mlflow_run = run.info.run_id
            params = [Param(k, str(v)[:6000]) for k, v in flatten(config).items()]
            for start in range(0, len(params), 100):
                self.client.log_batch(self.mlflow_run, params=params[start : start + 100])
            self.client.log_batch(self.mlflow_run, tags=[RunTag("mlflow.runName", name or self.run_dir.name)])
            self.run_dir.mkdir(parents=True, exist_ok=True)
            saved.write_text(json.dumps({"tracking_uri": uri, "run_id": self.mlflow_run}) + "\n")
        say(f"MLflow: run {self.mlflow_run} in {uri}")

    @staticmethod
    def _connect(mlflow, uri: str, experiment_name: str):
        from mlflow.tracking import MlflowClient

        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail fast, then fall back
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment_name)
        return client, found.experiment_id if found else client.create_experiment(experiment_name)

    def _parent(self, experiment: str, group: str) -> str:
        """The sweep's parent run, created by its first job."""
        found = self.client.search_runs(
            [experiment],
            filter_string=f"tags.`{SWEEP_TAG}` = '{group}' and tags.`dlrun.parent` = 'true'",
            max_results=1,
        )
        if found:
            return found[0].info.run_id
        return self.client.create_run(
            experiment, run_name=f"sweep {group}", tags={SWEEP_TAG: group, "dlrun.parent": "true"}
        ).info.run_id

    def _metrics(self, values: dict, step: int) -> None:
        now = int(time.time() * 1000)
        metrics = [
            self.Metric(k, float(v), now, step)
            for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "epoch"
        ]
        if metrics:
            self.client.log_batch(self.mlflow_run, metrics=metrics)

    def log_step(self, metrics: dict, step: int) -> None:
        self._metrics(metrics, step)

    def log_epoch(self, row: dict, step: int) -> None:
        self._metrics(row, step)

    def log_summary(self, summary: dict) -> None:
        self._metrics(summary, 0)

    def log_images(self, name: str, images: list) -> None:
        for index, image in enumerate(images):
            self.client.log_image(self.mlflow_run, image, artifact_file=f"{name}/{index}.png")

    def log_checkpoint(self, path: Path, metadata: dict) -> None:
        if self.cfg.get("log_model"):
            self.client.log_artifact(self.mlflow_run, str(path), artifact_path="checkpoints")

    def finish(self, ok: bool) -> None:
        for name in ("config.yaml", "summary.json"):
            if (self.run_dir / name).is_file():
                self.client.log_artifact(self.mlflow_run, str(self.run_dir / name))
        self.client.set_terminated(self.mlflow_run, "FINISHED" if ok else "FAILED")


def local_store() -> str:
    LOCAL_STORE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{LOCAL_STORE.resolve()}"


def _version() -> str:
    import dlrun

    return dlrun.__version__


def _git_commit() -> str | None:
    from dlrun.runs.run_record import git_state

    state = git_state(Path.cwd())
    return state["commit"] if state else None
