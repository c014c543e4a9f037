"""Every tracker run a run opens is closed, whatever fails after it was opened: W&B's run
finishes (wandb.run is None again) and MLflow's run ends FAILED, not RUNNING."""

import pytest

from dlrun.errors import DlrunError


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow's local store: outputs/mlflow.db here
    return tmp_path


def mlflow_statuses(folder):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'outputs' / 'mlflow.db'}")
    return [r.info.status for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]


@pytest.mark.slow
@pytest.mark.parametrize("where", ["watch", "test"])
def test_a_failure_after_the_trackers_opened_closes_them(train, in_tmp, monkeypatch, where):
    import wandb

    from dlrun.engine.loggers import wandb_logger
    from dlrun.run import process

    def fail(*args, **kwargs):
        raise DlrunError(f"failed in {where}")

    if where == "watch":  # between opening the trackers and training
        monkeypatch.setattr(wandb_logger.WandbLogger, "watch", fail)
    else:  # testing the best checkpoint, after training
        monkeypatch.setattr(process, "evaluate", fail)
    with pytest.raises(DlrunError, match=f"failed in {where}"):
        train("logger=[wandb,mlflow,tensorboard]", "model=mlp", "model.hidden=[8]", "epochs=1", run_dir=in_tmp / "run")
    assert wandb.run is None, "the W&B run was left open"
    assert mlflow_statuses(in_tmp) == ["FAILED"]
