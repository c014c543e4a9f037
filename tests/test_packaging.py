"""The wheel carries the config tree, and an installed wheel finds it from anywhere."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dlrun.config.tree import GROUPS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("dlrun-*.whl")
    return path


@pytest.mark.slow
def test_wheel_contains_the_config_tree(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "dlrun/conf/config.yaml" in names
    for group in GROUPS:
        assert any(n.startswith(f"dlrun/conf/{group}/") and n.endswith(".yaml") for n in names), group
    assert "dlrun/cli.py" in names
    assert "dlrun/conf/hydra/sweeper/optuna.yaml" in names
    assert "hydra_plugins/dlrun_optuna_sweeper/optuna_sweeper.py" in names, "Hydra finds the sweeper only there"
    assert "hydra_plugins/__init__.py" not in names, "hydra_plugins is a namespace package shared by every plugin"


@pytest.mark.slow
def test_installed_wheel_composes_from_another_directory(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import dlrun.config.tree as t; print(t.conf_dir())"
    where = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert where.stdout.strip() == str(target / "dlrun" / "conf"), where.stderr
    composed = subprocess.run(
        [sys.executable, "-m", "dlrun", "--cfg", "job", "model=mlp"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert composed.returncode == 0, composed.stderr
    assert "name: mlp" in composed.stdout
    search = subprocess.run(
        [sys.executable, "-m", "dlrun", "--cfg", "hydra", "hparams_search=digits_optuna"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert search.returncode == 0, search.stderr
    assert "_target_: hydra_plugins.dlrun_optuna_sweeper.optuna_sweeper.DlrunOptunaSweeper" in search.stdout
