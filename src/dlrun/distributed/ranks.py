"""Inside a worker: which rank this is, and the few reductions the loop needs.

Every function here is a no-op in a single process, so the loop calls them
unconditionally and reads the same with one process or many.
"""

import os
from contextlib import nullcontext

import torch
import torch.distributed as dist
from torch import nn

from dlrun.checks.trainer import SYNC_BATCHNORM_NEEDS_CUDA, global_batch_problem
from dlrun.compat import compiled_original
from dlrun.errors import DlrunError


def distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if distributed() else 1


def is_main() -> bool:
    """Rank 0: the one process that writes files, prints and logs."""
    return rank() == 0


def global_mean(total: torch.Tensor, count: int) -> float:
    """A sample-weighted mean over every rank's (sum, count)."""
    if not distributed():
        return (total / max(count, 1)).item()
    both = torch.stack([total.detach().float(), torch.tensor(float(count), device=total.device)])
    dist.all_reduce(both)
    return (both[0] / both[1].clamp(min=1)).item()


def global_sum(value: torch.Tensor) -> torch.Tensor:
    """The sum over every rank (this rank's value in a single process)."""
    if distributed():
        value = value.clone()
        dist.all_reduce(value)
    return value


def global_cat(rows: torch.Tensor) -> torch.Tensor:
    """Every rank's rows (first dimension), concatenated in rank order (this rank's alone in a
    single process); ranks may hold different numbers of rows."""
    if not distributed():
        return rows
    counts = [torch.zeros((), dtype=torch.int64, device=rows.device) for _ in range(world_size())]
    dist.all_gather(counts, torch.tensor(len(rows), device=rows.device))
    most = int(max(c.item() for c in counts))
    padded = rows.new_zeros((most, *rows.shape[1:]))
    padded[: len(rows)] = rows
    gathered = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(gathered, padded)
    return torch.cat([part[: int(count)] for part, count in zip(gathered, counts)])


def global_max(value: torch.Tensor) -> torch.Tensor:
    if distributed():
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return value


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when it is true on any (one small all-reduce)."""
    if not distributed():
        return flag
    value = torch.tensor(1.0 if flag else 0.0, device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return value.item() > 0


def broadcast_from_main(value):
    """Rank 0's value (a plain Python object) on every rank."""
    if not distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def every_rank(value) -> list:
    """Every rank's value (a plain Python object), in rank order; [value] in a single process."""
    if not distributed():
        return [value]
    values = [None] * world_size()
    dist.all_gather_object(values, value)
    return values


def barrier() -> None:
    if distributed():
        dist.barrier()


def unwrap(model: nn.Module) -> nn.Module:
    """The user's module inside DistributedDataParallel and torch.compile wrappers: what
    checkpoints hold, so they load without `module.` or `_orig_mod.` prefixes."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        elif compiled_original(model) is not None:
            model = compiled_original(model)
        else:
            return model


def inner_ddp(model: nn.Module) -> nn.parallel.DistributedDataParallel | None:
    """The DistributedDataParallel wrapper of `model` (also under torch.compile), or None."""
    model = compiled_original(model) or model
    return model if isinstance(model, nn.parallel.DistributedDataParallel) else None


def no_gradient_sync(model: nn.Module):
    """DDP's no_sync(): a backward that accumulates gradients locally, without all-reducing
    them (every micro-batch of an accumulation step but its last). A no-op otherwise."""
    ddp = inner_ddp(model)
    return ddp.no_sync() if ddp is not None else nullcontext()


def for_evaluation(model: nn.Module) -> nn.Module:
    """The module to evaluate: outside DDP's wrapper (whose forward may talk to the other
    ranks, which may have one batch fewer), with rank 0's buffers (BatchNorm statistics:
    each rank updated its own copy with its own last batch), so every rank scores the
    weights that rank 0 checkpoints. `model` itself in a single process."""
    if not distributed():
        return model
    ddp = inner_ddp(model)
    module = ddp.module if ddp is not None else model
    for buffer in module.buffers():
        dist.broadcast(buffer.data, src=0)
    return module


def local_device(device: torch.device) -> torch.device:
    """Each rank's own GPU (LOCAL_RANK) when training on CUDA with several processes."""
    if distributed() and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    return device


def batch_per_rank(batch_size: int) -> int:
    """`batch_size` is the global batch, split evenly across the processes, so a config
    means the same on 1 or N devices."""
    world = world_size()
    problem = global_batch_problem(batch_size, world)  # the config check's rule, for a world known only now
    if problem:
        raise DlrunError(problem)
    return batch_size // world


def wrap_ddp(model: nn.Module, device: torch.device, sync_batchnorm: bool = False) -> nn.Module:
    """DistributedDataParallel when there are several processes; `sync_batchnorm`: BatchNorm
    layers become torch's SyncBatchNorm first (CUDA only: torch runs it on GPUs)."""
    if not distributed():
        return model
    if sync_batchnorm:
        if device.type != "cuda":  # trainer.device=auto found no GPU
            raise DlrunError(SYNC_BATCHNORM_NEEDS_CUDA)
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def describe_world() -> dict:
    """{size, backend, nodes} of this run's processes, for the run's first lines (no collective)."""
    if not distributed():
        return {"size": 1, "backend": None, "nodes": 1}
    return {"size": world_size(), "backend": dist.get_backend(), "nodes": int(os.environ.get("GROUP_WORLD_SIZE", 1))}


def describe(device: torch.device) -> dict:
    """What summary.json records of the processes that trained (a collective: every rank calls it)."""
    if not distributed():
        return {"world_size": 1}
    import socket

    devices = [None] * world_size()
    dist.all_gather_object(devices, f"{socket.gethostname()}:{device}")  # one entry per rank, in rank order
    return {
        "world_size": world_size(),
        "backend": dist.get_backend(),
        "nodes": int(os.environ.get("GROUP_WORLD_SIZE", 1)),
        "devices": devices,
    }
