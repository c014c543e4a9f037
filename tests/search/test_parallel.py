"""Many trials at once: two `dlrun -m` processes on one journal file, and n_jobs=2 in one."""

import json

import pytest
from optuna.trial import TrialState

from tests.processes import QUIET, dlrun, start
from tests.search.helpers import load_study

SPACE = (
    "-m",
    "hydra/sweeper=optuna",
    "lr=tag(log, interval(1e-4, 1e-1))",
    "optimizer=adam,sgd",
    "epochs=2",
    *QUIET,
    "hydra.sweeper.pruner.name=none",
)


@pytest.mark.slow
def test_two_processes_started_together_share_one_study(tmp_path):
    processes = [start(*SPACE, "hydra.sweep.dir=shared", "hydra.sweeper.n_trials=6", cwd=tmp_path) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (_out, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
    trials = load_study(tmp_path / "shared" / "optuna.journal", "shared").trials
    # Each process asks while the study has fewer than 6: two asks racing for the last may add one more.
    assert 6 <= len(trials) <= 7
    assert [t.number for t in trials] == list(range(len(trials)))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2, "one process ran every trial"
    assert len({tuple(sorted(t.params.items())) for t in trials}) == len(trials), "two trials drew the same values"
    for trial in trials:  # each trial its own run directory, named by its number
        summary = json.loads((tmp_path / "shared" / str(trial.number) / "summary.json").read_text())
        assert summary["search"]["trial"] == trial.number
        assert summary["best"]["value"] == pytest.approx(trial.value)
    said = outputs[0][0] + outputs[1][0]
    assert sorted(int(line.split()[1]) for line in said.splitlines() if line.startswith("trial ")) == [
        t.number for t in trials
    ]


@pytest.mark.slow
def test_n_jobs_runs_trials_in_processes_of_their_own_with_the_cores_divided(tmp_path):
    # loader.num_workers=1: a trial's process may start DataLoader workers (joblib's loky workers may not)
    result = dlrun(
        *SPACE,
        "hydra.sweep.dir=parallel",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_jobs=2",
        "loader.num_workers=1",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = load_study(tmp_path / "parallel" / "optuna.journal", "parallel").trials
    assert len(trials) == 3 and all(t.state == TrialState.COMPLETE for t in trials)
    import os

    threads = max(1, len(os.sched_getaffinity(0)) // 2)
    for trial in trials:
        run_dir = tmp_path / "parallel" / str(trial.number)
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["cpu_threads"] == threads
    submitit = tmp_path / "parallel" / ".submitit"
    jobs = [p for p in submitit.iterdir() if p.name.isdigit()]
    # each trial a submitit job of its own (one more where a job lost as it started was submitted again)
    assert len(jobs) == 3 or (len(jobs) == 4 and "submitting it again" in result.stderr), result.stderr[-2000:]
    assert (tmp_path / "parallel" / "optimization_results.yaml").is_file()


def test_a_local_job_lost_as_it_started_is_submitted_again_but_nothing_else():
    from submitit.core.utils import UncompletedJobError

    from dlrun.search.sweeper import lost_at_start
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher, SlurmLauncher

    lost = UncompletedJobError(
        "Job 1 (task: 0) with path /x/1_0_result.pkl\nhas not produced any output (state: "
        "FINISHED)\nNo output/error stream produced ! Check: /x/1_0_log.out"
    )
    died = UncompletedJobError(
        "Job 1 (task: 0) with path /x/1_0_result.pkl\nhas not produced any output (state: "
        "FINISHED)\nError stream produced:\n----------------------------------------\nKilled"
    )
    local, slurm = LocalLauncher.__new__(LocalLauncher), SlurmLauncher.__new__(SlurmLauncher)
    assert lost_at_start(local, lost)
    assert not lost_at_start(local, died) and not lost_at_start(slurm, lost) and not lost_at_start(local, OSError())
