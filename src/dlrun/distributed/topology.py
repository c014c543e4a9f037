"""How many processes a run has: `trainer.devices` per node times `trainer.num_nodes`.
Checked with the rest of the config, before torch is imported. The nodes of a many-node
run meet at `trainer.rdzv_endpoint`, or in a SLURM job at its first host."""

from dataclasses import dataclass

from dlrun.cluster import slurm_env
from dlrun.errors import DlrunError


@dataclass(frozen=True)
class Topology:
    devices: int            # worker processes on this node
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
    problems = topology_problems(devices, nodes, endpoint)
    if problems:
        raise DlrunError(problems[0])
    if nodes > 1 and not endpoint:  # a SLURM job of one task per node: they meet at its first host
        endpoint = slurm_env.rendezvous_endpoint()
    return Topology(devices, nodes, endpoint)


def topology_problems(devices, nodes, endpoint) -> list[str]:
    found = []
    if devices != "auto" and (isinstance(devices, bool) or not isinstance(devices, int) or devices < 1):
        found.append(f"trainer.devices={devices!r} must be auto or a whole number >= 1 (processes on this machine).")
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        found.append(f"trainer.num_nodes={nodes!r} must be a whole number >= 1.")
    elif nodes > 1 and not endpoint and (problem := slurm_env.node_problem(nodes)):
        found.append(problem)
    if endpoint is not None and (not isinstance(endpoint, str) or ":" not in endpoint
                                 or not endpoint.rsplit(":", 1)[1].isdigit()):
        found.append(f"trainer.rdzv_endpoint={endpoint!r} must be HOST:PORT, e.g. 10.0.0.1:29400.")
    return found
