"""dlrun's engine gives exactly the weights of the loop the PyTorch tutorials teach."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from dlrun import datasets, models
from dlrun.engine.checkpoint import load_checkpoint
from dlrun.training.seeding import seed_everything


def sliced_batches(train_set, batch_size: int, generator: torch.Generator):
    """The hand-written loop over tensors in memory: a permutation, then slices (loader.in_memory)."""
    x, y = train_set.tensors
    order = torch.randperm(len(x), generator=generator)
    for start in range(0, len(x), batch_size):
        yield x[order[start : start + batch_size]], y[order[start : start + batch_size]]


def hand_written_training(cfg, epochs: int, sliced: bool):
    seed_everything(cfg.seed)
    loaders, info = datasets.build(cfg.dataset, cfg.loader, seed=cfg.seed, batch_size=cfg.batch_size)
    train_set = loaders["train"].dataset
    model = models.build(cfg.model, info)
    generator = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        for inputs, targets in sliced_batches(train_set, cfg.batch_size, generator) if sliced else loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for inputs, _ in loaders["val"]:
                model(inputs)
    return model.state_dict()


@pytest.mark.parametrize("in_memory", [True, False], ids=["tensors-sliced", "dataloader"])
def test_engine_weights_equal_hand_written_loop(train, in_memory):
    overrides = (
        "model=cnn",
        "optimizer=sgd",
        "optimizer.weight_decay=1e-4",
        "lr=0.05",
        "epochs=3",
        "seed=7",
        "optimizer.decay_norm_and_bias=true",  # as the hand-written SGD(model.parameters(), weight_decay)
        f"loader.in_memory={str(in_memory).lower()}",
    )
    run_dir = train(*overrides)
    engine_weights = load_checkpoint(run_dir / "checkpoints" / "last.pt")["model"]

    from hydra import compose, initialize_config_dir

    from dlrun.config.tree import conf_dir

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    reference = hand_written_training(cfg, epochs=3, sliced=in_memory)

    assert engine_weights.keys() == reference.keys()
    for name, tensor in reference.items():
        assert torch.equal(engine_weights[name], tensor), f"{name} differs from the hand-written loop"
    # and training did move the weights: the comparison is not between two untouched inits
    seed_everything(7)
    _, info = datasets.build(cfg.dataset, cfg.loader, seed=7, batch_size=64)
    untouched = models.build(cfg.model, info).state_dict()
    assert not torch.equal(untouched["0.weight"], reference["0.weight"])
