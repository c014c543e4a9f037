"""dlrun's Hydra Sweeper: an Optuna study driven by ask/tell, one Hydra job per trial.

    dlrun -m hydra/sweeper=optuna 'lr=tag(log, interval(1e-4, 1e-1))' optimizer=adam,sgd

    open (or continue) the study in its storage; mark trials a dead process left RUNNING as FAIL
    while the study has fewer than n_trials trials:
        keep n_jobs trials in flight: ask, launch the job (its number is the trial number)
        when one ends: tell the study COMPLETE (the job's best monitored value), PRUNED or FAIL
    write optimization_results.yaml and Optuna's plots beside the sweep report

Trials run through Hydra's launcher. With n_jobs > 1 each trial is a process of its
own (submitit's local executor unless another process launcher is chosen), one
thread per slot waits for it, so a finished or pruned trial frees its slot at once.
This module imports no Optuna at import time: Hydra imports every plugin on start-up.
"""

import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from dlrun.compat import HYDRA_BASIC_LAUNCHER, frozen_trial_id, launcher_executor, optuna_trial
from dlrun.errors import DlrunError, fail
from dlrun.search import workers

SUBMITIT_LOCAL = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"


class OptunaSweeper(Sweeper):
    def __init__(self, **settings) -> None:  # Hydra passes hydra.sweeper's keys; setup() reads them from the config
        self.config: DictConfig | None = None
        self.launcher = None
        self.lock = threading.Lock()

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        from dlrun.search.settings import read_settings

        self.config, self.hydra_context = config, hydra_context
        try:
            self.settings = read_settings(config.hydra.sweeper, config.hydra.sweep.dir, config)
        except DlrunError as err:
            stop_with(err)
        if self.settings.n_jobs > 1 and config.hydra.launcher._target_ == HYDRA_BASIC_LAUNCHER:
            use_submitit_local(config)  # the basic launcher runs jobs in this process, one at a time
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )
        self.launcher.cancel_on_interrupt = True  # a SLURM job's trial would have no sweeper left to tell
        if hasattr(self.launcher, "submit_parameters"):  # SLURM: its settings are checked once, before any trial
            try:
                self.launcher.submit_parameters()
            except DlrunError as err:
                stop_with(err)

    def sweep(self, arguments: list[str]) -> None:
        from dlrun.search.settings import plain
        from dlrun.search.space import search_space

        try:
            space = search_space(plain(self.config.hydra.sweeper.get("params")), arguments)
            study = self.open_study(space)
        except DlrunError as err:
            stop_with(err)
        self.space, self.study = space, study
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        # a cluster's jobs get their own machines' share: nothing to divide here
        on_this_machine = launcher_executor(self.launcher) == "local"
        slots = workers.slot_environments(self.settings.n_jobs if on_this_machine else 1) * (
            1 if on_this_machine else self.settings.n_jobs
        )
        print(
            f"Optuna study '{self.settings.study_name}' ({self.settings.direction}) in {self.settings.storage}: "
            f"{self.counted()} of {self.settings.n_trials} trials so far; {self.settings.n_jobs} at a time, "
            f"{self.settings.sampler} sampler, {self.settings.pruner} pruner",
            flush=True,
        )
        try:
            if self.settings.n_jobs == 1:  # in this thread: Ctrl-C and SIGTERM reach the trial's loop
                while self.wants_more():
                    trial = self.ask()
                    try:
                        outcome = self.launch(trial, slots[0])
                    except BaseException:  # interrupted: this trial will not finish, and does not count
                        self.abandon(trial)
                        raise
                    self.tell(trial, outcome)
            else:
                self.run_parallel(slots)
        finally:
            from dlrun.search.results import write_results

            for path in write_results(self.study, self.settings, self.space, sweep_dir):
                print(f"wrote {path}")

    # ---- the study ---------------------------------------------------------------
    def open_study(self, space):
        import optuna

        from dlrun.search.settings import build_pruner, build_sampler, open_storage

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        settings = self.settings
        study = optuna.create_study(
            storage=open_storage(settings.storage),
            study_name=settings.study_name,
            direction=settings.direction,
            sampler=build_sampler(settings, settings.sampler_seed, space.distributions),
            pruner=build_pruner(settings),
            load_if_exists=True,
        )
        if study.direction.name.lower() != settings.direction:
            raise DlrunError(
                f"The study '{settings.study_name}' in {settings.storage} was created to "
                f"{study.direction.name.lower()}, but this search would {settings.direction}: "
                "use another hydra.sweeper.study_name or storage, or set hydra.sweeper.direction."
            )
        for params in plain_list(self.config.hydra.sweeper.get("enqueue")):
            unknown = set(params) - set(space.distributions)
            if unknown:
                raise DlrunError(
                    f"hydra.sweeper.enqueue names {', '.join(sorted(unknown))}, which the search does not "
                    f"vary: its parameters are {', '.join(space.distributions)}."
                )
            study.enqueue_trial(params, skip_if_exists=True)
        for stale in workers.abandoned_trials(study):
            stale_trial = optuna_trial(study, frozen_trial_id(stale))
            stale_trial.set_user_attr("interrupted", True)
            study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
            print(f"trial {stale.number} was left running by a process that has ended: marked FAIL", flush=True)
        return study

    def counted(self) -> int:
        """Trials that count towards n_trials: every one asked for (not those enqueued and still
        waiting), but those a dead process left unfinished."""
        from optuna.trial import TrialState

        return sum(
            1
            for t in self.study.get_trials(deepcopy=False)
            if t.state != TrialState.WAITING and not t.user_attrs.get("interrupted")
        )

    def wants_more(self) -> bool:
        if self.counted() >= self.settings.n_trials:
            return False
        if self.settings.sampler == "grid" and self.study.sampler.is_exhausted(self.study):
            print("the grid is exhausted: every combination has a trial", flush=True)
            return False
        return True

    def ask(self):
        """A new trial with its values sampled. The sampler is seeded per trial from (seed, trial
        number): a seeded search is reproducible, and a continued study or a second process
        never redraws the values of earlier trials. (The grid sampler keeps one seed: it orders
        the grid by it, and every process must see the same order.)"""
        from dlrun.search.settings import build_sampler, trial_seed

        settings, study = self.settings, self.study
        distributions = self.space.distributions
        reseed = settings.sampler != "grid"
        with self.lock:
            if reseed:  # relative samplers (CMA-ES) draw inside ask()
                study.sampler = build_sampler(
                    settings, trial_seed(settings.sampler_seed, len(study.get_trials(deepcopy=False))), distributions
                )
            trial = study.ask()
            if reseed:
                study.sampler = build_sampler(settings, trial_seed(settings.sampler_seed, trial.number), distributions)
            for name, distribution in distributions.items():
                suggest(trial, name, distribution)
            trial.set_user_attr("worker", workers.WORKER)
        return trial

    # ---- one trial ---------------------------------------------------------------
    def launch(self, trial, environment: list[str]):
        """Run the trial's job; returns Hydra's JobReturn, or the exception that prevented one."""
        overrides = self.space.trial_overrides(trial.params) + environment
        for attempt in (1, 2):
            try:
                return self.launcher.launch([overrides], initial_job_idx=trial.number)[0]
            except Exception as err:  # the job's process died (killed, out of memory) or could not start
                if attempt == 1 and lost_at_start(self.launcher, err):
                    print(
                        f"trial {trial.number}: its process ended before it wrote anything (lost as it "
                        "started); submitting it again",
                        file=sys.stderr,
                        flush=True,
                    )
                    continue
                return err

    def tell(self, trial, outcome) -> None:
        from optuna.trial import TrialState

        from dlrun.search.results import trial_outcome

        job_dir = self.job_dir(trial, outcome)
        state, value, detail = trial_outcome(job_dir, outcome)
        trial.set_user_attr("run_dir", str(job_dir))
        with self.lock:
            try:
                if state == "complete":
                    self.study.tell(trial, value)
                else:
                    self.study.tell(trial, state=TrialState.PRUNED if state == "pruned" else TrialState.FAIL)
            except RuntimeError as err:  # GridSampler asks the study to stop when its grid is done; the state is told
                if "Study.stop" not in str(err):
                    raise
        params = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
        print(f"trial {trial.number} {state}{': ' + detail if detail else ''}  [{params}]  {job_dir}", flush=True)

    def abandon(self, trial) -> None:
        from optuna.trial import TrialState

        trial.set_user_attr("interrupted", True)
        self.study.tell(trial, state=TrialState.FAIL)
        print(
            f"trial {trial.number} interrupted: marked FAIL; run the same command again to continue the study",
            file=sys.stderr,
            flush=True,
        )

    def job_dir(self, trial, outcome) -> Path:
        hydra_cfg = getattr(outcome, "hydra_cfg", None)
        if hydra_cfg is not None:
            return Path(hydra_cfg.hydra.runtime.output_dir)
        return Path(str(self.config.hydra.sweep.dir)) / str(trial.number)

    # ---- n_jobs trials at once -------------------------------------------------------
    def run_parallel(self, slots: list[list[str]]) -> None:
        free = list(range(len(slots)))
        running = {}
        pool = ThreadPoolExecutor(max_workers=len(slots), thread_name_prefix="trial")
        try:
            while True:
                while free and self.wants_more():
                    slot, trial = free.pop(0), self.ask()
                    running[pool.submit(self.launch, trial, slots[slot])] = (trial, slot)
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    trial, slot = running.pop(future)
                    self.tell(trial, future.result())
                    free.append(slot)
        except BaseException:
            if hasattr(self.launcher, "cancel"):  # SLURM: the trials' jobs end with the search
                self.launcher.cancel()
            for trial, _ in running.values():
                self.abandon(trial)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


def suggest(trial, name: str, distribution) -> None:
    from optuna.distributions import FloatDistribution, IntDistribution

    if isinstance(distribution, FloatDistribution):
        trial.suggest_float(name, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
    elif isinstance(distribution, IntDistribution):
        trial.suggest_int(name, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
    else:
        trial.suggest_categorical(name, distribution.choices)


def lost_at_start(launcher, err: Exception) -> bool:
    """A local submitit job that ended without any output or log at all: its process was lost
    as it started (seen under load with two trials submitted at once), before any of the
    trial's code ran, so submitting it again repeats nothing. SLURM jobs are left to the
    cluster launcher's own reporting."""
    return (
        type(launcher).__name__ == "LocalLauncher"
        and type(err).__name__ == "UncompletedJobError"
        and "has not produced any output" in str(err)
        and "No output/error stream produced" in str(err)
    )


def use_submitit_local(config: DictConfig) -> None:
    """n_jobs > 1 with Hydra's basic launcher: run each trial in a process of its own through
    hydra-submitit-launcher's local executor (plain subprocesses, which may start DataLoader
    workers; joblib's loky workers may not)."""
    from hydra_plugins.hydra_submitit_launcher.config import LocalQueueConf

    launcher = OmegaConf.structured(LocalQueueConf(timeout_min=7 * 24 * 60))  # a trial is not timed out
    with read_write(config), open_dict(config):
        config.hydra.launcher = launcher


def plain_list(items) -> list[dict]:
    items = OmegaConf.to_container(items, resolve=True) if OmegaConf.is_config(items) else list(items or [])
    if not all(isinstance(item, dict) for item in items):
        raise DlrunError(
            "hydra.sweeper.enqueue must be a list of {parameter: value} mappings, e.g. "
            "'hydra.sweeper.enqueue=[{lr: 0.001, optimizer: adam}]'."
        )
    return items


def stop_with(err: DlrunError) -> None:
    fail(err)  # the one-line error and exit code 2, before any trial  # the CLI's one-line error and exit code 2
