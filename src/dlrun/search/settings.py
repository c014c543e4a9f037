"""`hydra.sweeper.*` of the Optuna sweeper: checked before Optuna is imported, then built.

Optuna keeps neither the sampler nor the pruner in the study, so every process of a
search (the sweeper, each trial, a second `dlrun -m` on the same storage) builds
them here from the same config.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlrun import tasks
from dlrun.datasets.catalog import dataset_task
from dlrun.errors import DlrunError, unknown_choice
from dlrun.metrics.catalogue import maximised

SAMPLERS = {
    "tpe": "TPESampler",
    "random": "RandomSampler",
    "grid": "GridSampler",
    "cmaes": "CmaEsSampler",
}
PRUNERS = {
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "hyperband": "HyperbandPruner",
    "none": "NopPruner",
}
DIRECTIONS = ("auto", "maximize", "minimize")
JOURNAL_NAME = "optuna.journal"


@dataclass(frozen=True)
class SearchSettings:
    n_trials: int
    n_jobs: int
    direction: str  # maximize | minimize
    storage: str  # a journal file path or a database URL
    study_name: str
    sampler: str
    sampler_seed: int | None
    sampler_options: dict  # the shared knobs (n_startup_trials ...), for the samplers that take them
    sampler_extra: dict  # hydra.sweeper.sampler.options: passed as they are
    pruner: str
    pruner_options: dict


def read_settings(sweeper: DictConfig, sweep_dir: str, config: DictConfig | None = None) -> SearchSettings:
    """Every problem of `hydra.sweeper` at once, as one error, before anything is imported.
    `config`: the run's config, to resolve direction=auto (a trial's process does not need it)."""
    found = []
    n_trials, n_jobs = sweeper.get("n_trials"), sweeper.get("n_jobs")
    for key, value in (("n_trials", n_trials), ("n_jobs", n_jobs)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            found.append(f"hydra.sweeper.{key}={value!r} must be a whole number >= 1.")
    sampler, pruner = sweeper.sampler.get("name"), sweeper.pruner.get("name")
    if sampler not in SAMPLERS:
        found.append(str(unknown_choice("sampler (hydra.sweeper.sampler.name)", sampler, SAMPLERS)))
    if pruner not in PRUNERS:
        found.append(str(unknown_choice("pruner (hydra.sweeper.pruner.name)", pruner, PRUNERS)))
    seed = sweeper.sampler.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        found.append(f"hydra.sweeper.sampler.seed={seed!r} must be null or a whole number >= 0.")
    if not isinstance(sweeper.sampler.get("options") or {}, (dict, DictConfig)):
        found.append(
            "hydra.sweeper.sampler.options must be a mapping of keyword arguments, e.g. "
            "'hydra.sweeper.sampler.options={n_ei_candidates: 48}'."
        )
    storage, study_name = sweeper.get("storage"), sweeper.get("study_name")
    if storage is not None and not study_name:
        found.append(
            "hydra.sweeper.storage is set, so name the study too (hydra.sweeper.study_name=NAME): every "
            "process and every later run then joins the same study."
        )
    direction = sweeper.get("direction")
    try:
        direction = resolve_direction(direction, config) if config is not None else direction
    except DlrunError as err:
        found.append(str(err))
    if found:
        raise DlrunError(
            found[0]
            if len(found) == 1
            else "the search settings have these problems:\n" + "\n".join(f"  - {p}" for p in found)
        )
    sweep_dir = Path(sweep_dir).absolute()
    return SearchSettings(
        n_trials=n_trials,
        n_jobs=n_jobs,
        direction=direction,
        storage=str(storage) if storage is not None else str(sweep_dir / JOURNAL_NAME),
        study_name=str(study_name or sweep_dir.name),
        sampler=sampler,
        sampler_seed=seed,
        sampler_options=knobs(sweeper.sampler, "name", "seed"),
        sampler_extra=plain(sweeper.sampler.get("options")),
        pruner=pruner,
        pruner_options=knobs(sweeper.pruner, "name"),
    )


def knobs(node: DictConfig, *besides: str) -> dict:
    """A sampler's or pruner's shared knobs: its keys less `besides` and `options`."""
    return {k: v for k, v in plain(node).items() if k not in (*besides, "options")}


def plain(options) -> dict:
    return OmegaConf.to_container(options, resolve=True) if isinstance(options, DictConfig) else dict(options or {})


def resolve_direction(direction: str, config: DictConfig) -> str:
    """`auto`: the monitored metric's mode (trainer.monitor / trainer.mode), as the run will decide it."""
    if direction not in DIRECTIONS:
        raise DlrunError(f"hydra.sweeper.direction={direction!r} is not valid: use one of {', '.join(DIRECTIONS)}.")
    if direction != "auto":
        return direction
    trainer = config.get("trainer", {})
    mode, monitor = trainer.get("mode", "auto"), trainer.get("monitor", "auto")
    if mode in ("min", "max"):
        return "maximize" if mode == "max" else "minimize"
    if monitor == "auto":
        task = dataset_task(config.get("dataset", {}))
        if task is None:
            raise DlrunError(
                "hydra.sweeper.direction=auto cannot tell from the config whether this dataset is a classification "
                "(val/acc, maximize) or a regression (val/loss, minimize): set trainer.monitor (e.g. val/acc) or "
                "hydra.sweeper.direction=maximize|minimize."
            )
        chosen = trainer.get("metrics")
        monitor = tasks.get(task).default_monitor(None if chosen is None or isinstance(chosen, str) else list(chosen))
    higher = maximised(str(monitor), trainer.get("metrics"))
    if higher is None:
        raise DlrunError(
            f"hydra.sweeper.direction=auto cannot tell whether {monitor} is maximised: set "
            "trainer.mode=max|min or hydra.sweeper.direction=maximize|minimize."
        )
    return "maximize" if higher else "minimize"


def trial_seed(seed: int | None, trial_number: int) -> int | None:
    """The sampler's seed for one trial: reproducible for a seeded search, different for every
    trial, so a continued study or a second process never redraws the first trials' values."""
    if seed is None:
        return None
    digest = hashlib.sha256(f"{seed}:{trial_number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def build_sampler(settings: SearchSettings, seed: int | None, space: dict):
    import optuna

    sampler_class = getattr(optuna.samplers, SAMPLERS[settings.sampler])
    options = {**accepted(sampler_class, settings.sampler_options), **settings.sampler_extra}
    if settings.sampler == "grid":
        options["search_space"] = grid_values(space)
    try:
        return sampler_class(seed=seed, **options)
    except (TypeError, ValueError, ImportError) as err:
        raise DlrunError(
            f"hydra.sweeper.sampler: {SAMPLERS[settings.sampler]} could not be built from options "
            f"{settings.sampler_extra}: {err}"
        ) from err


def grid_values(space: dict) -> dict:
    """A grid sampler's values per parameter: choices and ranges only (an interval has no grid)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    grid = {}
    for key, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            grid[key] = list(dist.choices)
        elif isinstance(dist, IntDistribution) and not dist.log:
            grid[key] = list(range(dist.low, dist.high + 1, dist.step))
        elif isinstance(dist, FloatDistribution) and dist.step is not None:
            count = round((dist.high - dist.low) / dist.step) + 1
            grid[key] = [dist.low + i * dist.step for i in range(count)]
        else:
            raise DlrunError(
                f"hydra.sweeper.sampler.name=grid needs a list or a range for every parameter; {key} is "
                "an interval. Use choice(...) or range(...), or another sampler (tpe, random, cmaes)."
            )
    return grid


def build_pruner(settings: SearchSettings):
    import optuna

    pruner_class = getattr(optuna.pruners, PRUNERS[settings.pruner])
    try:
        return pruner_class(**accepted(pruner_class, settings.pruner_options))
    except (TypeError, ValueError) as err:
        raise DlrunError(
            f"hydra.sweeper.pruner: {PRUNERS[settings.pruner]} could not be built from "
            f"{accepted(pruner_class, settings.pruner_options)}: {err}"
        ) from err


def accepted(cls, options: dict) -> dict:
    """The options `cls` takes: the shared knobs (n_startup_trials ...) go to the classes that know them."""
    import inspect

    parameters = inspect.signature(cls).parameters
    return {k: v for k, v in options.items() if k in parameters and k != "seed"}


def open_storage(url: str):
    """A journal file (the default, a path) or a database URL (sqlite:///..., postgresql://...)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(url))
    try:
        return optuna.storages.RDBStorage(url)
    except Exception as err:  # a driver missing, a server not answering, a malformed URL
        raise DlrunError(
            f"hydra.sweeper.storage={url!r} could not be opened: {type(err).__name__}: "
            f"{str(err).splitlines()[0][:300]}. Use a journal file path or a database URL such as "
            "sqlite:///optuna.db."
        ) from err
