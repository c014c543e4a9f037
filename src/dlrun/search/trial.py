"""The trial a job trains for, when dlrun's Optuna sweeper launched it.

The job finds its trial from Hydra's config for the job: the sweeper's settings
(storage, study, pruner) and the job number, which the sweeper sets to the trial
number. After every validation the loop reports the monitored value; the pruner,
built here as the sweeper builds it, decides whether the trial goes on.
"""

from dataclasses import dataclass

SWEEPER_TARGET = "hydra_plugins.dlrun_optuna_sweeper.optuna_sweeper.DlrunOptunaSweeper"


@dataclass
class SearchJob:
    study_name: str
    trial_number: int
    settings: object  # dlrun.search.settings.SearchSettings


def search_job() -> SearchJob | None:
    """This Hydra job's trial, or None when no Optuna sweep launched it (a plain run, a grid)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    # a single run of a search preset (the best trial's command) is no trial
    if hydra.mode != RunMode.MULTIRUN or hydra.sweeper.get("_target_") != SWEEPER_TARGET:
        return None
    from dlrun.search.settings import read_settings

    settings = read_settings(hydra.sweeper, hydra.sweep.dir)
    return SearchJob(settings.study_name, int(hydra.job.num), settings)


class TrialPruning:
    """Reports the monitored value to the study after each validation and asks its pruner.
    With several processes rank 0 reports and decides, and every rank follows its decision."""

    def __init__(self, job: SearchJob):
        import optuna

        from dlrun.compat import optuna_trial
        from dlrun.distributed.ranks import is_main
        from dlrun.search.settings import build_pruner, open_storage

        self.number = job.trial_number
        self.main = is_main()
        if not self.main:
            return
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = open_storage(job.settings.storage)
        self.pruner = build_pruner(job.settings)
        self.study = optuna.load_study(study_name=job.study_name, storage=storage, pruner=self.pruner)
        study_id = storage.get_study_id_from_name(job.study_name)
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, job.trial_number)
        self.trial = optuna_trial(self.study, trial_id)

    def check(self, epoch: int, metric: str, value: float) -> str | None:
        """Why to stop after this validation, or None to go on (the same on every rank)."""
        from dlrun.distributed.ranks import broadcast_from_main

        decision = None
        if self.main:
            self.trial.report(float(value), step=epoch)
            if self.trial.should_prune():
                decision = (
                    f"pruned by Optuna's {type(self.pruner).__name__} at epoch {epoch} "
                    f"(trial {self.number}, {metric} {value:.4g})"
                )
        return broadcast_from_main(decision)
