"""Bad input ends with a short message naming the problem and the valid choices:
exit code not 0, no traceback, and no run directory left behind."""

import pytest

CASES = {
    "model=resnet19": ["Unknown model 'resnet19'", "Did you mean: resnet18", "resnet101"],
    "optimizer=adamm": ["Unknown optimizer 'adamm'", "Did you mean: adam", "sgd"],
    "dataset=nope": ["Unknown dataset 'nope'", "digits"],
    "lr=abc": ["lr='abc' is not a positive number", "lr=1e-3"],
    "epochs=0": ["epochs=0 must be a whole number >= 1"],
    "batch_size=-1": ["batch_size=-1 must be a whole number >= 1"],
    "trainer.device=tpu": ["trainer.device='tpu' is not valid", "cuda:N"],
    "scheduler=step scheduler.step_size=0": ["scheduler.step_size=0 is not valid", "epochs >= 1"],
    "scheduler=multistep scheduler.milestones=[8,5]": ["scheduler.milestones=[8, 5] is not valid", "increasing"],
    "scheduler=plateau scheduler.factor=2": ["scheduler.factor=2 is not valid", "0 < factor < 1"],
}


@pytest.mark.parametrize("override", list(CASES))
def test_bad_input_gets_a_clear_error(dlrun_cli, tmp_path, override):
    result = dlrun_cli(*override.split(), "logger=none")
    assert result.returncode != 0
    for fragment in CASES[override]:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not list(tmp_path.glob("outputs/runs/*")), "a rejected run must not leave a run directory"


def test_sweep_values_are_checked_too(dlrun_cli):
    result = dlrun_cli("-m", "optimizer=adam,adamm", "logger=none")
    assert result.returncode == 2
    assert "Unknown optimizer 'adamm'. Did you mean: adam, adamw?" in result.stderr


def test_several_problems_are_reported_together(dlrun_cli):
    result = dlrun_cli("lr=-1", "epochs=0", "seed=-5", "logger=none")
    assert result.returncode == 2
    assert result.stderr.count("  - ") == 3, result.stderr


def test_gpu_trainer_without_cuda_explains(dlrun_cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = dlrun_cli("trainer=gpu", "logger=none", "epochs=1")
    assert result.returncode == 2
    assert "no CUDA device is available" in result.stderr and "trainer=cpu" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_groups_and_examples(dlrun_cli):
    result = dlrun_cli("--help")
    assert result.returncode == 0
    assert "== Config groups" in result.stdout
    assert "optimizer: adadelta, adagrad, adam, adamw, rmsprop, sgd" in result.stdout
    assert "dlrun model=resnet50 optimizer=adam lr=1e-3" in result.stdout


def test_cfg_job_prints_the_composed_config_without_training(dlrun_cli, tmp_path):
    result = dlrun_cli("--cfg", "job", "model=mlp", "lr=0.01")
    assert result.returncode == 0
    assert "name: mlp" in result.stdout and "lr: 0.01" in result.stdout
    assert not (tmp_path / "outputs").exists()


def test_info_and_shell_completion(dlrun_cli):
    info = dlrun_cli("--info", "searchpath")
    assert info.returncode == 0 and "conf" in info.stdout
    completion = dlrun_cli("--shell-completion", "install=bash")
    assert completion.returncode == 0 and "complete" in completion.stdout


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "dlrun", "model=resnet19"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Did you mean: resnet18" in result.stderr


def test_cli_module_imports_no_torch():
    import subprocess
    import sys

    code = "import sys, dlrun.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", "dlrun.cli must not import torch at module level"


def test_mistyped_command(dlrun_cli):
    result = dlrun_cli("predcit", "run", "x.png")
    assert result.returncode == 2 and "Unknown command 'predcit'. Did you mean: predict?" in result.stderr


WRONG_NET = """
from torch import nn


class Net(nn.Module):
    \"\"\"Fits the data, but its training-mode forward has a bug.\"\"\"

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.layer = nn.Linear(in_features, num_classes)

    def forward(self, x):
        if self.training:
            raise KeyError("dropout_rate")   # a bug in the user's own code
        return self.layer(x.flatten(1))
"""


def test_an_unexpected_error_is_one_message_with_the_traceback_in_error_log(dlrun_cli, tmp_path):
    (tmp_path / "wrong_net.py").write_text(WRONG_NET)
    args = ("model=custom", "model.class_path=wrong_net.Net", "epochs=1", "logger=none", "trainer.progress=none")
    result = dlrun_cli(*args)
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    assert "KeyError: 'dropout_rate'" in result.stderr
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    assert "Traceback" in (run_dir / "error.log").read_text() and not (run_dir / "summary.json").exists()
    assert str(run_dir / "error.log") in result.stderr
    debug = dlrun_cli(*args, env={"DLRUN_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr

    sweep = dlrun_cli("-m", *args, "lr=1e-3,1e-2", "hydra.sweep.dir=sweep")  # every job fails; the sweep ends
    assert sweep.returncode == 0 and "Traceback" not in sweep.stderr
    for job in ("0", "1"):
        assert "dropout_rate" in (tmp_path / "sweep" / job / "failed.json").read_text()
        assert "Traceback" in (tmp_path / "sweep" / job / "error.log").read_text()
    assert (tmp_path / "sweep" / "report.csv").read_text().count("failed") == 2
