"""One call seeds every random number generator a run draws from."""

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices). Seed 0 is a valid seed."""
    os.environ["PYTHONHASHSEED"] = str(seed)  # inherited by DataLoader workers and subprocesses
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
