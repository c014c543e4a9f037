"""Shared fixtures: offline W&B, composed configs, the real CLI in a subprocess."""

import os
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from dlrun.config.tree import conf_dir, register_generated_options

sys.path.insert(0, str(Path(__file__).parent))  # tests/wandb_records.py


@pytest.fixture(autouse=True)
def offline_wandb(monkeypatch, tmp_path):
    """No test reaches the W&B service or reads the developer's credentials."""
    for key in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL", "WANDB_PROJECT", "WANDB_ENTITY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    yield
    import wandb

    wandb.teardown()  # wandb's process-wide setup reads the environment once; the next test gets a fresh one


@pytest.fixture
def make_cfg():
    """compose(overrides) -> DictConfig, the way the CLI composes it."""
    register_generated_options()

    def _compose(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))

    yield _compose
    GlobalHydra.instance().clear()


FAST = ("logger=none", "trainer.progress=none", "trainer=cpu")


@pytest.fixture
def train(make_cfg, tmp_path):
    """Run `run(cfg)` in-process into tmp_path/run; returns the run directory."""
    from dlrun.run import run

    def _train(*overrides: str, run_dir: Path | None = None):
        run_dir = run_dir or tmp_path / "run"
        run(make_cfg(*FAST, *overrides), run_dir=run_dir, job={"overrides": list(overrides)})
        return run_dir

    return _train


@pytest.fixture
def dlrun_cli(tmp_path):
    """Run the `dlrun` command in tmp_path (a process of its own: tests.processes.dlrun);
    returns CompletedProcess."""

    from tests.processes import dlrun

    def _run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300):
        full_env = {**os.environ, "COLUMNS": "120", **(env or {})}
        return dlrun(*args, cwd=cwd or tmp_path, timeout=timeout, env=full_env)

    return _run


# The longest modules first (measured, in seconds of a sequential run): `make test` hands whole
# modules to two xdist workers in this order, and the short ones then fill the end evenly.
LONGEST_FIRST = (
    "tasks/test_detection.py",
    "datasets/test_shards.py",
    "distributed/test_ddp.py",
    "cluster/test_slurm.py",
    "test_cli_errors.py",
    "tasks/test_segmentation.py",
    "inputs/test_text.py",
    "tasks/test_multilabel.py",
    "engine/test_resume.py",
    "inputs/test_audio.py",
    "distributed/test_ddp_resume.py",
    "engine/test_mlflow.py",
    "models/test_export_predict.py",
    "search/test_studies.py",
    "search/test_parallel.py",
    "models/test_onnx.py",
    "training/test_batch_size.py",
    "serve/test_serve.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        path = item.path.as_posix()
        return next((i for i, name in enumerate(LONGEST_FIRST) if path.endswith("tests/" + name)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the order within a module, and of the other modules, stays
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
