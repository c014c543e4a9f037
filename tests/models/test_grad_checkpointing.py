"""model.grad_checkpointing=true: the same training (losses, BatchNorm statistics, metrics) with
the blocks' activations recomputed in the backward pass; evaluation and the state dict unchanged."""

import copy
import csv

import pytest
import torch

from dlrun import datasets, models
from dlrun.engine.throughput import WALL_CLOCK
from dlrun.models.grad_checkpointing import checkpointed_class


def five_steps(make_cfg, overrides: tuple, checkpointing: bool):
    cfg = make_cfg(*overrides, f"model.grad_checkpointing={str(checkpointing).lower()}")
    torch.manual_seed(0)
    loaders, info = datasets.build(cfg.dataset, cfg.loader, seed=0, batch_size=16, device=torch.device("cpu"))
    said = []
    model = models.build(cfg.model, info, say=said.append).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    batches, losses = iter(loaders["train"]), []
    for _ in range(5):
        inputs, targets = next(batches)
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, losses, said


@pytest.mark.parametrize(
    "overrides,how",
    [
        (("model=cnn",), "1 sequence in segments"),
        (("model=resnet18",), "8 blocks"),
        (("model=timm", "model.arch=resnet10t"), "blocks"),
        pytest.param(("model=vit_b_16",), "12 blocks", marks=pytest.mark.slow),  # 86M parameters
    ],
    ids=["cnn", "torchvision-resnet18", "timm-resnet10t", "torchvision-vit"],
)
def test_five_steps_give_the_same_losses_and_statistics(make_cfg, overrides, how):
    plain, losses, _ = five_steps(make_cfg, overrides, False)
    checkpointed, again, said = five_steps(make_cfg, overrides, True)
    assert how in said[-1] and said[-1].startswith("activation checkpointing:")
    assert again == pytest.approx(losses, abs=1e-5)
    first, second = plain.state_dict(), checkpointed.state_dict()
    assert list(first) == list(second), "the state dict keeps its keys"
    assert all(torch.allclose(first[k].float(), second[k].float(), atol=1e-5) for k in first)  # BatchNorm stats too
    swapped = [m for m in checkpointed.modules() if type(m) is checkpointed_class(type(m).__mro__[1])]
    assert swapped or "segments" in how


def test_a_checkpointed_model_copies_and_evaluates_as_itself(make_cfg):
    model, _, _ = five_steps(make_cfg, ("model=resnet18",), True)
    copied = copy.deepcopy(model)  # what the EMA does
    model.eval(), copied.eval()
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), copied(x))
    assert type(model.net.layer1[0]).__name__ == "BasicBlock"


def test_a_run_is_the_same_run_with_checkpointing(train, tmp_path):
    def rows(run_dir):
        with open(run_dir / "metrics.csv") as f:
            return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in csv.DictReader(f)]

    plain = train("epochs=2", run_dir=tmp_path / "plain")
    checkpointed = train("epochs=2", "model.grad_checkpointing=true", run_dir=tmp_path / "checkpointed")
    assert rows(checkpointed) == rows(plain)
    assert "activation checkpointing: 1 sequence in segments" in (checkpointed / "train.log").read_text()
