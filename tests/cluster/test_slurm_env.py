"""What a process reads from SLURM's environment: where the nodes meet, how many tasks,
which run directory the tasks of `srun dlrun` share."""

import os

import pytest

from dlrun.cluster import slurm_env
from dlrun.errors import DlrunError

STEP = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NODELIST": "gpu-node7", "SLURM_STEP_NUM_TASKS": "2", "SLURM_STEP_ID": "0"}


@pytest.fixture
def step(monkeypatch):
    for key in [k for k in os.environ if k.startswith(("SLURM_", "SUBMITIT_"))]:
        monkeypatch.delenv(key)

    def enter(**extra):
        for key, value in {**STEP, **extra}.items():
            monkeypatch.setenv(key, value)

    return enter


def test_the_nodes_meet_at_the_first_host_on_a_port_from_the_job_id(step):
    step()
    assert slurm_env.rendezvous_endpoint() == "gpu-node7:24242"
    assert slurm_env.node_problem(2) is None
    assert "this SLURM job step has 2 task(s)" in slurm_env.node_problem(4)


def test_outside_a_step_num_nodes_needs_an_endpoint(step):
    assert "trainer.rdzv_endpoint=HOST:PORT" in slurm_env.node_problem(2)
    assert slurm_env.record() == {}


def test_srun_tasks_share_one_run_directory_and_only_the_first_writes_hydras_files(step):
    step(SLURM_PROCID="0")
    assert slurm_env.shared_run_overrides(["epochs=1"]) == ["hydra.run.dir=outputs/runs/slurm-4242.0"]
    step(SLURM_PROCID="1")
    assert slurm_env.shared_run_overrides(["hydra.run.dir=/shared/x"]) == [
        "hydra.output_subdir=null",
        "hydra/job_logging=disabled",
    ]
    with pytest.raises(DlrunError, match="dlrun -m under srun"):
        slurm_env.shared_run_overrides(["-m", "lr=1,2"])
    step(SUBMITIT_EXECUTOR="slurm")  # dlrun's own launcher: the sweep's job folder is shared already
    assert slurm_env.shared_run_overrides([]) == []


def test_the_run_record_names_the_job_and_its_restarts(step):
    step(SLURM_RESTART_COUNT="2", SLURM_ARRAY_JOB_ID="4240", SLURM_ARRAY_TASK_ID="2")
    assert slurm_env.record()["slurm"] == {
        "job_id": "4242",
        "array_job_id": "4240",
        "array_task_id": "2",
        "nodelist": "gpu-node7",
        "tasks": "2",
        "restarts": 2,
    }
