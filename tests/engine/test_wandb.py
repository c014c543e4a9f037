"""W&B with the real wandb package, offline: the files it writes hold what dlrun logged."""

import json

import yaml
from wandb_records import run_records


def offline_run(run_dir):
    (path,) = (run_dir / "wandb").glob("offline-run-*")
    return run_records(path)


def test_offline_run_holds_config_metrics_and_test_results(train, capsys):
    run_dir = train("logger=wandb", "epochs=2", "trainer.progress=lines")
    records = offline_run(run_dir)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    logged = {k: v for k, v in records["config"].items() if not k.startswith("_")}
    assert logged == config, f"the full resolved config reaches W&B: {logged} != {config}"
    epochs = [h for h in records["history"] if "val/acc" in h]
    assert [h["epoch"] for h in epochs] == [1, 2], records["history"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert records["summary"].get("test/acc") == summary["test"]["test/acc"], records["summary"]
    assert records["summary"]["best/val/acc"] == summary["best"]["value"]
    assert records["run"].project == "dlrun" and records["run"].job_type == "train"
    out = capsys.readouterr().out
    assert "W&B offline run:" in out and "wandb sync " in out


def test_unreachable_service_falls_back_to_offline(train, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)  # a key makes mode=auto go online ...
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # ... to a port where nothing listens
    run_dir = train("logger=wandb", "logger.wandb.init_timeout=3", "epochs=1", "trainer.progress=lines")
    out = capsys.readouterr().out
    assert "W&B is not reachable" in out and "logging offline instead" in out
    assert "127.0.0.1:9" in out, "the online attempt must go to the address the test set, nowhere else"
    assert offline_run(run_dir)["history"], "metrics still reach the offline run"
    assert (run_dir / "summary.json").exists()


def test_mode_auto_follows_the_api_key(monkeypatch, tmp_path):
    from dlrun.engine.loggers.wandb_logger import wandb_mode

    assert wandb_mode("auto") == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_mode("auto") == "online"
    monkeypatch.delenv("WANDB_API_KEY")
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert wandb_mode("auto") == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode("auto") == "disabled"
    assert wandb_mode("offline") == "offline"


def test_bad_wandb_mode_is_a_clear_error(train):
    import pytest

    from dlrun.errors import DlrunError

    with pytest.raises(DlrunError, match="logger.wandb.mode='sometimes' is not valid"):
        train("logger=wandb", "logger.wandb.mode=sometimes", "epochs=1")


def test_log_model_and_watch(train):
    from wandb_records import read_records

    run_dir = train(
        "logger=wandb",
        "epochs=2",
        "logger.wandb.log_model=true",
        "logger.wandb.watch=gradients",
        "logger.wandb.watch_log_freq=5",
    )
    (path,) = (run_dir / "wandb").glob("offline-run-*")
    run_records(path)  # waits for the run to be written completely
    (log,) = path.glob("run-*.wandb")
    artifacts = [r.artifact for r in read_records(log) if r.WhichOneof("record_type") == "artifact"]
    assert any(a.type == "model" and a.name.startswith("model-") for a in artifacts)
    history_keys = {k for h in run_records(path)["history"] for k in h}
    assert any(k.startswith("gradients/") for k in history_keys), sorted(history_keys)[:20]
