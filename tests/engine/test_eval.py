"""`dlrun eval`: the run's own config and best checkpoint reproduce summary.json's test metrics."""

import json

import pytest

from ..datasets import fixtures

pytestmark = pytest.mark.slow  # dlrun eval on trained runs, in processes of its own


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def eval_json(dlrun_cli, run_dir, tmp_path, *extra):
    out = tmp_path / "eval.json"
    result = dlrun_cli("eval", str(run_dir), *extra, "--output", str(out))
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text()), result.stdout


@pytest.mark.parametrize(
    "overrides",
    [
        ("model=mlp", "batch_size=32", "epochs=2"),  # not today's defaults: the run's own
        ("dataset=diabetes", "loss=mse", "model=mlp", "epochs=3"),
    ],
)
def test_eval_reproduces_the_recorded_test_metrics(train, dlrun_cli, tmp_path, overrides):
    run_dir = train(*overrides)
    result, stdout = eval_json(dlrun_cli, run_dir, tmp_path)
    assert result["metrics"] == summary(run_dir)["test"]
    assert "summary.json" in stdout
    if "loss=mse" in overrides:
        assert {"test/mae", "test/mse", "test/rmse", "test/r2"} <= set(result["metrics"])
        assert result["metrics"]["test/rmse"] == pytest.approx(result["metrics"]["test/mse"] ** 0.5, rel=1e-5)
    else:
        assert {"test/acc", "test/f1"} <= set(result["metrics"]) and "test/top5" not in result["metrics"]
        matrix = result["confusion_matrix"]
        assert len(matrix) == 10 and sum(map(sum, matrix)) == 270  # every test sample counted once
        assert sum(matrix[i][i] for i in range(10)) / 270 == pytest.approx(result["metrics"]["test/acc"], abs=1e-6)


def test_eval_on_other_data_through_overrides(train, dlrun_cli, tmp_path):
    first = fixtures.image_tree(tmp_path / "a", per_class=10, seed=0)
    other = fixtures.image_tree(tmp_path / "b", per_class=10, seed=5)
    run_dir = train(
        "dataset=image_folder",
        f"dataset.root={first}",
        "dataset.transforms.resize=16",
        "epochs=2",
        "batch_size=8",
        "loader.num_workers=0",
    )
    result, stdout = eval_json(dlrun_cli, run_dir, tmp_path, f"dataset.root={other}")
    assert "summary.json" not in stdout  # other data: nothing recorded to compare with
    assert set(result["class_names"]) == {"cat", "dog"} and 0 <= result["metrics"]["test/acc"] <= 1


def test_eval_refuses_data_the_model_cannot_take(train, dlrun_cli, tmp_path):
    run_dir = train("epochs=1", "model=mlp")
    result = dlrun_cli("eval", str(run_dir), "dataset.name=wine")
    assert result.returncode == 2 and "does not fit the run's model" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    swap = dlrun_cli("eval", str(run_dir), "dataset=wine")
    assert swap.returncode == 2 and "cannot swap a whole group" in swap.stderr
    config = run_dir / "config.yaml"  # edited after training: the checkpoint no longer fits
    config.write_text(config.read_text().replace("hidden:\n  - 256", "hidden:\n  - 32"))
    edited = dlrun_cli("eval", str(run_dir))
    assert edited.returncode == 2 and "does not fit the model its config.yaml builds (model=mlp)" in edited.stderr
    assert "size mismatch" in edited.stderr and "Traceback" not in edited.stderr
