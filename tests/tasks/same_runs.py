"""What every task's tests check the same way: a killed run resumes to the weights of one that
was not, and a two-process run scores its test split as `dlrun eval` does in one process."""

import argparse
import json
from pathlib import Path

import torch

from tests.engine.test_resume import finished, metrics, run_dir_of, stop_when, train_state
from tests.processes import dlrun, start


def evaluated(run_dir: Path, output: Path, split: str = "test") -> dict:
    """`dlrun eval RUN -o OUTPUT` through its own code, in this process: the JSON it wrote."""
    from dlrun.commands import eval as eval_command

    args = argparse.Namespace(
        run=str(run_dir), overrides=[], checkpoint="best", trust=[], split=split, output=str(output)
    )
    assert eval_command.main(args) == 0
    return json.loads(Path(output).read_text())


def killed_and_resumed(args: tuple, tmp_path: Path, every_n_steps: int) -> tuple[Path, Path]:
    """(the uninterrupted run, the run SIGKILLed mid-epoch 2 after a step checkpoint and resumed),
    after checking that both end with the same weights and metrics.csv."""
    (tmp_path / "ref").mkdir(), (tmp_path / "kill").mkdir()
    reference = dlrun(*args, cwd=tmp_path / "ref")
    assert reference.returncode == 0, reference.stderr
    first = start(*args, f"trainer.checkpoint_every_n_steps={every_n_steps}", cwd=tmp_path / "kill")
    run_dir = stop_when(first, tmp_path / "kill", lambda s: s["epoch"] == 2 and s["batch"] > 0)
    finished(first)
    assert train_state(run_dir)["batch"] > 0, "killed mid-epoch"
    resumed = dlrun("resume", str(run_dir), cwd=tmp_path / "kill")
    assert resumed.returncode == 0, resumed.stderr
    ref = run_dir_of(tmp_path / "ref")
    weights = torch.load(ref / "checkpoints" / "last.pt", weights_only=True)["model"]
    final = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(final[k], v) for k, v in weights.items())
    assert metrics(run_dir) == metrics(ref)
    return ref, run_dir


def two_processes_and_one(args: tuple, tmp_path: Path) -> tuple[dict, dict]:
    """(the test metrics of a two-process run, `dlrun eval`'s of its best checkpoint in one process)."""
    result = dlrun(*args, "trainer.devices=2", "hydra.run.dir=ddp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert summary["distributed"]["world_size"] == 2
    return summary["test"], evaluated(tmp_path / "ddp", tmp_path / "eval.json")["metrics"]
