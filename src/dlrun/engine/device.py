"""Pick the torch device the run asked for, with a clear error when it is not there."""

import torch

from dlrun.errors import DlrunError


def select_device(name: str) -> torch.device:
    """`auto`: CUDA, then Apple MPS, then the CPU. Anything named must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DlrunError(
                f"trainer.device={name} but no CUDA device is available to torch {torch.__version__}. "
                "Use trainer=cpu, or trainer.device=auto to take the best device present."
            )
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise DlrunError(
                f"trainer.device={name} but only {torch.cuda.device_count()} CUDA device(s) exist: "
                f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}."
            )
    if name == "mps" and not torch.backends.mps.is_available():
        raise DlrunError("trainer.device=mps but Apple's MPS backend is not available here. Use trainer.device=auto.")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type
