"""What a resume needs besides the modules' state dicts, as plain data (no NumPy objects,
no custom classes), so checkpoints load with torch.load(weights_only=True)."""

import random
from dataclasses import asdict, dataclass, field

import numpy as np
import torch


@dataclass
class TrainState:
    epoch: int = 1  # the epoch in progress, 1-based
    batch: int = 0  # batches of that epoch already trained
    step: int = 0  # optimizer steps so far
    loss_total: float = 0.0  # this epoch's sample-weighted training-loss sum so far
    loss_count: int = 0
    loss_parts: dict = field(default_factory=dict)  # a detector's loss components: {name: [sum, count]}
    loss_ranks: list = field(default_factory=list)  # several processes: each rank's [sum, count, parts], by rank
    best_value: float | None = None
    best_epoch: int | None = None
    best_metrics: dict = field(default_factory=dict)
    stale: int = 0  # validations without an improvement (early stopping)
    stale_reference: float | None = None
    top_k: list = field(default_factory=list)  # [[value, epoch], ...] of the kept epoch checkpoints
    data_order: torch.Tensor | None = None  # training loader's generator at this epoch's start
    rng: dict | None = None  # Python, NumPy, torch and CUDA generator states
    stopped: str | None = None  # why training stopped early, when it did
    pruned_epoch: int | None = None  # the epoch after which a search's pruner stopped this trial

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainState":
        return cls(**data)


def capture_rng() -> dict:
    """Every global generator a training step draws from, as tensors and plain values."""
    version, keys, gauss_next = random.getstate()
    name, np_keys, np_pos, has_gauss, gauss = np.random.get_state()
    return {
        "python": [version, list(keys), gauss_next],
        "numpy": [name, torch.from_numpy(np_keys.astype(np.int64)), int(np_pos), int(has_gauss), float(gauss)],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(state: dict) -> None:
    version, keys, gauss_next = state["python"]
    random.setstate((version, tuple(keys), gauss_next))
    name, np_keys, np_pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np_keys.numpy().astype(np.uint32), np_pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
