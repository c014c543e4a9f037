"""The slurm preset's `auto` values from the trainer and what sinfo says of the nodes."""

import pytest
from omegaconf import OmegaConf

from dlrun.cluster import resources
from dlrun.errors import DlrunError

PRESET = {
    "nodes": "auto",
    "tasks_per_node": 1,
    "gpus_per_node": "auto",
    "cpus_per_task": "auto",
    "timeout_min": 60,
    "partition": None,
    "mem_gb": None,
    "additional_parameters": {},
    "setup": [],
}


def parameters(monkeypatch, node, trainer, loader=None, **preset):
    monkeypatch.setattr(resources, "partition_shape", lambda partition: node)
    config = OmegaConf.create(
        {
            "trainer": {"device": "auto", "devices": 1, "num_nodes": 1, **trainer},
            "loader": loader or {"num_workers": "auto"},
        }
    )
    return resources.slurm_parameters({**PRESET, **preset}, config)


def test_sinfo_listing_gives_the_smallest_nodes_cpus_and_gpus():
    assert resources.shape_from_sinfo("64 gpu:a100:8(S:0-1)\n32 gpu:4\n") == (32, 4)
    assert resources.shape_from_sinfo("2 (null)\n") == (2, 0)
    assert resources.shape_from_sinfo("") == (None, None)


@pytest.mark.parametrize(
    "node, trainer, preset, wanted",
    [
        ((64, 8), {"devices": 4, "num_nodes": 2}, {}, {"nodes": 2, "gpus_per_node": 4, "cpus_per_task": 16}),
        ((64, 8), {"devices": "auto"}, {}, {"nodes": 1, "gpus_per_node": 8, "cpus_per_task": 32}),
        ((64, 8), {"devices": 2, "device": "cpu"}, {}, {"cpus_per_task": 8}),  # no GPUs asked for
        ((2, 0), {"devices": 1}, {}, {"cpus_per_task": 2}),  # a CPU partition: at most a node
        ((64, 8), {"devices": 2}, {"cpus_per_task": 3, "gpus_per_node": None}, {"cpus_per_task": 3}),
        ((None, None), {"devices": 2}, {}, {"gpus_per_node": 2, "cpus_per_task": 8}),  # sinfo said nothing
    ],
)
def test_auto_values_follow_the_trainer_and_the_nodes(monkeypatch, node, trainer, preset, wanted):
    got = parameters(monkeypatch, node, trainer, **preset)
    assert {k: got.get(k) for k in wanted} == wanted
    if "gpus_per_node" not in wanted:
        assert "gpus_per_node" not in got


def test_loader_workers_set_the_cpus_per_process(monkeypatch):
    assert parameters(monkeypatch, (64, 8), {"devices": 2}, {"num_workers": 5})["cpus_per_task"] == 12


@pytest.mark.parametrize(
    "preset, message",
    [
        ({"timeout_min": "1h"}, "hydra.launcher.timeout_min='1h' is not valid"),
        ({"partition": 3}, "hydra.launcher.partition=3 must be text"),
        ({"setup": "module load cuda"}, "hydra.launcher.setup must be a list"),
        ({"nodes": 2}, "2 node(s) x 1 task(s) per node = 2 tasks, but trainer.num_nodes=1"),
    ],
)
def test_wrong_values_are_named(monkeypatch, preset, message):
    with pytest.raises(DlrunError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parameters(monkeypatch, (64, 8), {}, **preset)
