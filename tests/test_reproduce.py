"""`dlrun reproduce --verify` re-runs a run from its saved config, from any directory, and
the allow-list refuses configs that name code from elsewhere."""

import pytest
import yaml


@pytest.fixture(scope="module")
def original_run(tmp_path_factory):
    import subprocess
    import sys
    from pathlib import Path

    home = tmp_path_factory.mktemp("original")
    exe = Path(sys.executable).parent / "dlrun"
    result = subprocess.run(
        [str(exe), "epochs=2", "model=mlp", "logger=none", "trainer.deterministic=true"],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = (home / "outputs" / "runs").iterdir()
    return run_dir


@pytest.fixture
def finished_run(original_run, tmp_path):
    """A copy of one trained run per test (some tests edit its config)."""
    import shutil

    return shutil.copytree(original_run, tmp_path / "original" / original_run.name)


@pytest.mark.slow
def test_reproduce_verify_from_another_directory(dlrun_cli, finished_run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = dlrun_cli("reproduce", str(finished_run), "--verify", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert "all metrics identical" in result.stderr and "differs" not in result.stdout
    assert "test: test/acc" in result.stdout and "identical" in result.stdout
    (new_run,) = (elsewhere / "outputs" / "runs").iterdir()
    assert (new_run / "summary.json").is_file()


@pytest.mark.slow
def test_verify_reports_differences_with_exit_code_1(dlrun_cli, finished_run, tmp_path):
    result = dlrun_cli("reproduce", str(finished_run), "optimizer.lr=0.01", "--verify", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "differs by" in result.stdout and "metrics differ" in result.stderr


CANARY = "from pathlib import Path\nPath('CANARY_RAN').write_text('imported')\nclass Boom: pass\n"


@pytest.mark.parametrize(
    "edit,root",
    [
        (lambda cfg: cfg["optimizer"].update({"_target_": "os.system"}), "os"),
        (lambda cfg: cfg["model"].update({"name": "custom", "class_path": "canary.Boom"}), "canary"),
        (
            lambda cfg: (
                cfg["dataset"]["transforms"]["train_extra"].append({"_target_": "canary.Boom"})
                if "transforms" in cfg["dataset"]
                else cfg["loss"].update({"_target_": "canary.Boom"})
            ),
            "canary",
        ),
    ],
)
@pytest.mark.slow
def test_untrusted_import_paths_are_refused(dlrun_cli, finished_run, tmp_path, edit, root):
    config_file = finished_run / "config.yaml"
    cfg = yaml.safe_load(config_file.read_text())
    edit(cfg)
    config_file.write_text(yaml.safe_dump(cfg))
    (tmp_path / "canary.py").write_text(CANARY)
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    commands = [
        ["reproduce", str(finished_run)],
        ["eval", str(finished_run)],
        ["predict", str(finished_run), str(image)],
        ["export", str(finished_run)],
        ["resume", str(finished_run)],
    ]
    for command in commands if root == "os" else commands[:1]:
        result = dlrun_cli(*command, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert "outside dlrun's allow-list" in result.stderr and f"--trust {root}" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "CANARY_RAN").exists(), "nothing from the config was imported"
    assert not (tmp_path / "outputs").exists()


def test_allow_list_rules():
    from dlrun.runs.safety import import_paths, is_trusted, trusted_prefixes

    config = {
        "optimizer": {"_target_": "torch.optim.SGD"},
        "model": {"name": "custom", "class_path": "my.Net"},
        "dataset": {"transforms": {"train_extra": [{"_target_": "torchvision.transforms.v2.RandomRotation"}]}},
    }
    assert sorted(p for _, p in import_paths(config)) == [
        "my.Net",
        "torch.optim.SGD",
        "torchvision.transforms.v2.RandomRotation",
    ]
    prefixes = trusted_prefixes(["my"])
    assert is_trusted("my.Net", prefixes) and is_trusted("torch.nn.MSELoss", prefixes)
    assert not is_trusted("torchx.evil", prefixes) and not is_trusted("mypkg.Net", prefixes)
    hub = {"model": {"name": "hub", "repo": "someone/repo", "source": "github"}}
    assert import_paths(hub) == [("model.repo", "hub:someone/repo")]
