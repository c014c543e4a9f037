"""How many processes a run has: `trainer.devices` per node times `trainer.num_nodes`
(their rules are in dlrun.checks.trainer, checked before torch is imported). The nodes of a many-node
run meet at `trainer.rdzv_endpoint`, or in a SLURM job at its first host."""

from dataclasses import dataclass

from dlrun.cluster import slurm_env


@dataclass(frozen=True)
class Topology:
    devices: int  # worker processes on this node
    num_nodes: int
    rdzv_endpoint: str | None

    @property
    def world_size(self) -> int:
        return self.devices * self.num_nodes


def topology(trainer, gpu_count=None) -> Topology:
    """`devices: auto` is every visible GPU when training on CUDA, else 1. `gpu_count`: a
    callable giving the number of CUDA devices (only asked for `auto`)."""
    devices, nodes, endpoint = trainer.get("devices", 1), trainer.get("num_nodes", 1), trainer.get("rdzv_endpoint")
    if devices == "auto":
        wants_cuda = str(trainer.get("device", "auto")).startswith(("cuda", "auto"))
        devices = max(1, gpu_count()) if wants_cuda and gpu_count is not None else 1
    if nodes > 1 and not endpoint:  # a SLURM job of one task per node: they meet at its first host
        endpoint = slurm_env.rendezvous_endpoint()
    return Topology(devices, nodes, endpoint)
