"""Each schedule, precision, accumulation, clipping and stopping option, checked by its effect."""

import csv
import json

import pytest
import torch
from omegaconf import OmegaConf

from dlrun.engine.checkpoint import load_checkpoint
from dlrun.errors import DlrunError
from dlrun.training.schedulers import build_schedule


def rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def lr_sequence(scheduler: dict, steps: int, *, epochs_metric=None, total_steps=100, lr=0.1):
    """The learning rate after each of `steps` steps of a schedule built from `scheduler`."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    schedule = build_schedule(OmegaConf.create(scheduler), optimizer, total_steps=total_steps, monitor_mode="min")
    seen = []
    for i in range(steps):
        optimizer.step()
        if schedule.interval == "step":
            schedule.after_step()
        else:
            schedule.after_epoch(epochs_metric[i] if epochs_metric else None)
        seen.append(optimizer.param_groups[0]["lr"])
    return schedule, seen


def conf(make_cfg, name, **extra):
    cfg = make_cfg(f"scheduler={name}", "lr=0.1", "epochs=10")
    return {**OmegaConf.to_container(cfg.scheduler, resolve=True), **extra}


def test_epoch_schedules(make_cfg):
    _, step = lr_sequence(conf(make_cfg, "step", step_size=2, gamma=0.5), 4)
    assert step == pytest.approx([0.1, 0.05, 0.05, 0.025])
    _, multi = lr_sequence(conf(make_cfg, "multistep", milestones=[1, 3]), 4)
    assert multi == pytest.approx([0.01, 0.01, 0.001, 0.001])
    _, expo = lr_sequence(conf(make_cfg, "exponential", gamma=0.5), 3)
    assert expo == pytest.approx([0.05, 0.025, 0.0125])
    schedule, cosine = lr_sequence(conf(make_cfg, "cosine"), 10)
    assert schedule.interval == "epoch" and cosine[-1] == pytest.approx(0.0, abs=1e-12)


def test_plateau_follows_the_monitored_metric(make_cfg):
    schedule, lrs = lr_sequence(conf(make_cfg, "plateau", patience=1), 5, epochs_metric=[1.0, 0.5, 0.6, 0.7, 0.4])
    assert schedule.scheduler.mode == "min"  # `mode: auto` took the monitor's mode
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.01, 0.01])  # two validations without improvement


def test_step_schedules(make_cfg):
    schedule, onecycle = lr_sequence(conf(make_cfg, "onecycle"), 99, total_steps=100)
    assert schedule.interval == "step"
    peak = max(range(len(onecycle)), key=onecycle.__getitem__)
    assert 25 <= peak <= 31 and onecycle[peak] == pytest.approx(0.1, rel=0.01)  # pct_start=0.3 of 100 steps
    assert onecycle[-1] < 0.001
    _, warm = lr_sequence(conf(make_cfg, "warmup_cosine", warmup_fraction=0.1), 100, total_steps=100)
    assert warm[:10] == sorted(warm[:10]) and max(warm) == pytest.approx(0.1, rel=0.01)
    assert warm[10:] == sorted(warm[10:], reverse=True) and warm[-1] < 0.001


def test_step_schedule_in_a_run(train):
    run_dir = train("scheduler=onecycle", "lr=0.01", "epochs=3", "model=mlp")
    lrs = [float(r["lr"]) for r in rows(run_dir)]
    assert lrs[0] > lrs[-1] and len(set(lrs)) == 3  # stepped per batch, logged per epoch


def test_accumulation_equals_a_bigger_batch(train, tmp_path):
    common = ("model=mlp", "model.dropout=0", "optimizer=sgd", "lr=0.05", "epochs=2", "loader.drop_last=true")
    small = train(*common, "batch_size=32", "trainer.grad_accum_steps=2", run_dir=tmp_path / "accumulated")
    big = train(*common, "batch_size=64", run_dir=tmp_path / "big")
    a = load_checkpoint(small / "checkpoints" / "last.pt")
    b = load_checkpoint(big / "checkpoints" / "last.pt")
    assert a["global_step"] == b["global_step"] == 2 * (1298 // 64)
    for name, tensor in b["model"].items():
        assert torch.allclose(a["model"][name], tensor, atol=1e-6), name


def test_gradient_clipping_bounds_every_update(train, tmp_path):
    common = ("model=mlp", "model.dropout=0", "optimizer=sgd", "optimizer.momentum=0", "lr=0.5", "epochs=1")
    clipped = train(*common, "trainer.grad_clip=0.001", run_dir=tmp_path / "clipped")
    free = train(*common, run_dir=tmp_path / "free")

    def moved(run_dir):
        from dlrun import datasets, models
        from dlrun.training.seeding import seed_everything

        config = load_checkpoint(run_dir / "checkpoints" / "last.pt")
        seed_everything(0)
        cfg = OmegaConf.create(config["config"])
        _, info = datasets.build(cfg.dataset, cfg.loader, seed=0, batch_size=64)
        start = models.build(cfg.model, info).state_dict()
        change = torch.cat([(config["model"][k] - start[k]).flatten() for k in start])
        return change.norm().item(), config["global_step"]

    clipped_change, steps = moved(clipped)
    assert clipped_change <= 0.5 * 0.001 * steps + 1e-6  # each SGD update is at most lr * max_norm
    assert moved(free)[0] > 100 * clipped_change


def test_bf16_autocast_on_cpu(train):
    run_dir = train("trainer.precision=bf16", "epochs=3")
    result = summary(run_dir)
    assert result["precision"] == "bf16" and result["test"]["test/acc"] > 0.8


def test_fp16_needs_cuda(train):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DlrunError, match="precision=16 .* needs a CUDA device"):
        train("trainer.precision=16")


@pytest.mark.gpu
def test_fp16_with_a_gradient_scaler_on_cuda(train):
    run_dir = train("trainer.precision=16", "trainer.device=cuda", "epochs=2")
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["scaler"]["scale"] > 0


def test_early_stopping_records_why(train):
    run_dir = train(
        "lr=1e-9", "epochs=10", "trainer.early_stopping.patience=2", "trainer.early_stopping.min_delta=0.01"
    )
    result = summary(run_dir)
    assert len(rows(run_dir)) == 3  # the first sets the reference, two more without improvement
    assert "early stopping: val/acc has not improved by more than 0.01 for 2 validations" in result["stopped_early"]


def test_non_finite_loss_stops_with_the_epoch_and_step(train, tmp_path):
    with pytest.raises(DlrunError, match=r"NaN or infinite at epoch 1, optimizer step \d+.*grad_clip"):
        train("optimizer=sgd", "lr=1e12", "model=mlp", "trainer.log_every_n_steps=1", "epochs=2")


def test_nan_after_a_good_epoch_keeps_the_last_good_checkpoint(train, tmp_path, monkeypatch):
    (tmp_path / "breaking.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Breaks(nn.Module):\n"
        "    def __init__(self, in_features, num_classes):\n"
        "        super().__init__()\n        self.fc = nn.Linear(in_features, num_classes)\n        self.calls = 0\n\n"
        "    def forward(self, x):\n"
        "        self.calls += self.training\n"
        "        out = self.fc(x.flatten(1))\n"
        "        return out * float('nan') if self.calls > 25 else out\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DlrunError, match=r"at epoch 2, optimizer step 26"):
        train("model=custom", "model.class_path=breaking.Breaks", "epochs=3", run_dir=tmp_path / "run")
    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert last["epoch"] == 1 and all(torch.isfinite(t).all() for t in last["model"].values())


def test_top_k_keeps_the_best_epochs(train):
    run_dir = train("epochs=4", "trainer.save_top_k=2", "model=mlp")
    kept = sorted(p.name for p in (run_dir / "checkpoints").glob("epoch*.pt"))
    accs = {int(r["epoch"]): float(r["val/acc"]) for r in rows(run_dir)}
    best_two = sorted(sorted(accs, key=lambda e: (-accs[e], e))[:2])
    assert kept == [f"epoch{e}.pt" for e in best_two]


def test_validation_every_n_epochs_and_batch_limits(train):
    run_dir = train(
        "epochs=3",
        "trainer.val_every_n_epochs=2",
        "trainer.limit_train_batches=5",
        "trainer.limit_val_batches=0.5",
        "model=mlp",
    )
    table = rows(run_dir)
    assert [r["val/acc"] != "" for r in table] == [False, True, True]  # epoch 2, and always the last
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["global_step"] == 15


@pytest.mark.slow
def test_debug_preset(dlrun_cli, tmp_path):
    result = dlrun_cli("trainer=debug", "model=resnet18")
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    assert len(rows(run_dir)) == 1 and not (run_dir / "wandb").exists()
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["global_step"] == 3


def test_channels_last_and_deterministic(train):
    run_dir = train("trainer.channels_last=true", "trainer.deterministic=true", "epochs=1")
    assert summary(run_dir)["test"]["test/acc"] > 0.3
    torch.use_deterministic_algorithms(False)


def test_compiled_model_saves_plain_weights(train):
    run_dir = train("trainer.compile=true", "model=linear", "epochs=2", "lr=1e-2")
    weights = load_checkpoint(run_dir / "checkpoints" / "best.pt")["model"]
    assert set(weights) == {"1.weight", "1.bias"}  # no torch.compile "_orig_mod." prefix: loads uncompiled
    assert summary(run_dir)["test"]["test/acc"] > 0.5


def test_accuracy_ties_go_to_the_lower_validation_loss():
    from dlrun.engine.monitor import Monitor
    from dlrun.engine.state import TrainState

    monitor, state = Monitor("auto", "auto", "classification", {"acc": True, "f1": True}), TrainState()
    assert monitor.update(state, {"val/acc": 0.9, "val/loss": 0.5}, 1)
    assert not monitor.update(state, {"val/acc": 0.9, "val/loss": 0.6}, 2)
    assert monitor.update(state, {"val/acc": 0.9, "val/loss": 0.3}, 3) and state.best_epoch == 3
    assert not monitor.update(state, {"val/acc": 0.8, "val/loss": 0.1}, 4) and state.best_epoch == 3
