"""What a trial's run directory says (complete, pruned, failed) and what a search leaves
beside its sweep report: optimization_results.yaml and Optuna's own plots."""

import json
import math
import shlex
import traceback
import warnings
from pathlib import Path

import yaml


def trial_outcome(job_dir: Path, outcome) -> tuple[str, float | None, str]:
    """(complete | pruned | failed, the value to tell, a short detail) for one finished job.

    `outcome`: Hydra's JobReturn, or the exception that kept the job from returning one.
    A failure is written to failed.json (the sweep report lists it) with its traceback in
    error.log, unless the job wrote them itself.
    """
    from hydra.core.utils import JobStatus

    from dlrun.compat import job_return_error

    if isinstance(outcome, BaseException):
        return failed(job_dir, outcome)
    if outcome.status == JobStatus.FAILED:
        return failed(job_dir, job_return_error(outcome))
    if (job_dir / "failed.json").is_file():  # a config error the job reported itself
        return "failed", None, json.loads((job_dir / "failed.json").read_text()).get("error", "").splitlines()[0]
    summary_file = job_dir / "summary.json"
    if not summary_file.is_file():
        return failed(job_dir, RuntimeError("the job ended without a summary.json"))
    summary = json.loads(summary_file.read_text())
    value = summary["best"]["value"]
    if summary.get("status") == "pruned":
        return "pruned", value, f"at epoch {summary['pruned_at_epoch']}"
    if value is None or math.isnan(value):
        return failed(job_dir, RuntimeError(f"{summary['monitor']} was never a number (NaN)"))
    return "complete", value, f"{summary['monitor']} {value:.4g}"


def failed(job_dir: Path, err: BaseException) -> tuple[str, None, str]:
    from dlrun.runs.failures import record_failure

    message = f"{type(err).__name__}: {err}".strip()
    trace = "".join(traceback.format_exception(err))
    if (job_dir / "failed.json").is_file():
        (job_dir / "error.log").write_text(trace)
    else:
        record_failure(job_dir, message, trace)
    return "failed", None, message.splitlines()[0][:200]


def rerun_command(fixed: list[str], params: dict) -> str:
    """The `dlrun` command that trains a trial's configuration again, as one run."""
    from dlrun.search.space import format_value

    overrides = [*fixed, *(f"{key}={format_value(value)}" for key, value in params.items())]
    return " ".join(["dlrun", *(shlex.quote(o) for o in overrides)])


def write_results(study, settings, space, sweep_dir: Path) -> list[Path]:
    """optimization_results.yaml, and the optimisation history and parameter importances as PNG."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): sum(1 for t in trials if t.state == state) for state in TrialState}
    results = {
        "study": settings.study_name,
        "storage": settings.storage,
        "direction": settings.direction,
        "sampler": settings.sampler,
        "pruner": settings.pruner,
        "trials": {"total": len(trials), **{k: v for k, v in counts.items() if v}},
        "continue": f"run the same command with hydra.sweep.dir={sweep_dir}"
        + (
            ""
            if str(settings.storage).startswith(str(sweep_dir.absolute()))
            else f" (or hydra.sweeper.storage={settings.storage} hydra.sweeper.study_name={settings.study_name})"
        ),
    }
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    metric = None
    if complete:
        best = study.best_trial
        summary = Path(best.user_attrs.get("run_dir", "")) / "summary.json"
        metric = json.loads(summary.read_text())["monitor"] if summary.is_file() else None
        results["metric"] = metric
        results["best"] = {
            "trial": best.number,
            "value": best.value,
            "params": dict(best.params),
            "run_dir": best.user_attrs.get("run_dir"),
            "command": rerun_command(space.fixed, best.params),
        }
    out = sweep_dir / "optimization_results.yaml"
    out.write_text(yaml.safe_dump(results, sort_keys=False, width=1000))
    return [out, *plots(study, sweep_dir, len(complete), metric)]


def plots(study, sweep_dir: Path, complete: int, metric: str | None) -> list[Path]:
    """Optuna's matplotlib plots; importances need two finished trials that differ, and more
    than one searched parameter (with one, the whole importance is that parameter's)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots

    written = []
    wanted = [
        ("optimization_history.png", optuna_plots.plot_optimization_history, 1),
        ("param_importances.png", optuna_plots.plot_param_importances, 2),
    ]
    searched = {name for trial in study.trials for name in trial.params}
    for name, plot, needs in wanted:
        if complete < needs or (name == "param_importances.png" and len(searched) < 2):
            continue
        # rc_context: Optuna switches matplotlib to its ggplot style, which must not reach the sweep report
        with warnings.catch_warnings(), matplotlib.rc_context():
            warnings.simplefilter("ignore")  # the matplotlib backend is marked experimental
            try:
                axes = plot(study)
            except (ValueError, RuntimeError, ZeroDivisionError) as err:  # e.g. no variation to attribute
                print(f"{name}: not drawn ({err})")
                continue
            figure = getattr(axes, "figure", None) or axes.flat[0].figure
            if metric and name == "optimization_history.png":
                axes.set_ylabel(metric)
            figure.set_size_inches(8, 5)
            figure.tight_layout()
            figure.savefig(sweep_dir / name, dpi=110)
            plt.close(figure)
        written.append(sweep_dir / name)
    return written
