"""What the sweeper tells the study about a finished job, from the job's run directory."""

import json

from hydra.core.utils import JobReturn, JobStatus

from dlrun.compat import finished_job_return
from dlrun.search.results import rerun_command, trial_outcome


def job_return(status: JobStatus, value) -> JobReturn:
    ret = finished_job_return(value)
    ret.status = status
    return ret


def raised(err: BaseException) -> BaseException:
    try:
        raise err
    except BaseException as caught:
        return caught


def write_summary(run_dir, **fields):
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = {"status": "completed", "monitor": "val/acc", "best": {"value": 0.9}, **fields}
    (run_dir / "summary.json").write_text(json.dumps(summary))


def test_an_exception_in_the_job_fails_the_trial_with_its_error_and_traceback(tmp_path):
    err = raised(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    state, value, detail = trial_outcome(tmp_path / "3", job_return(JobStatus.FAILED, err))
    assert (state, value) == ("failed", None) and detail.startswith("RuntimeError: CUDA out of memory")
    assert "out of memory" in json.loads((tmp_path / "3" / "failed.json").read_text())["error"]
    assert "Traceback" in (tmp_path / "3" / "error.log").read_text()


def test_a_job_process_that_died_fails_the_trial(tmp_path):
    state, _, detail = trial_outcome(tmp_path / "4", raised(OSError("job 1234 was killed (signal 9)")))
    assert state == "failed" and "killed" in detail and (tmp_path / "4" / "failed.json").is_file()


def test_a_config_error_the_job_recorded_itself_is_kept(tmp_path):
    (tmp_path / "5").mkdir()
    (tmp_path / "5" / "failed.json").write_text(json.dumps({"error": "batch_size=0 must be a whole number >= 1"}))
    state, _, detail = trial_outcome(tmp_path / "5", job_return(JobStatus.COMPLETED, float("nan")))
    assert state == "failed" and detail.startswith("batch_size=0")
    assert not (tmp_path / "5" / "error.log").exists()


def test_complete_pruned_and_nan_runs(tmp_path):
    write_summary(tmp_path / "a")
    assert trial_outcome(tmp_path / "a", job_return(JobStatus.COMPLETED, 0.9)) == ("complete", 0.9, "val/acc 0.9")
    write_summary(tmp_path / "b", status="pruned", pruned_at_epoch=2)
    assert trial_outcome(tmp_path / "b", job_return(JobStatus.COMPLETED, 0.5))[:2] == ("pruned", 0.9)
    write_summary(tmp_path / "c", best={"value": float("nan")})
    assert trial_outcome(tmp_path / "c", job_return(JobStatus.COMPLETED, float("nan")))[0] == "failed"
    assert not trial_outcome(tmp_path / "d", job_return(JobStatus.COMPLETED, 1.0))[0] == "complete"


def test_the_rerun_command_quotes_what_the_shell_would_split():
    command = rerun_command(
        ["hparams_search=digits_optuna", "model.kwargs={a: 1}"], {"lr": 0.00123, "optimizer": "sgd"}
    )
    assert command == "dlrun hparams_search=digits_optuna 'model.kwargs={a: 1}' lr=0.00123 optimizer=sgd"
