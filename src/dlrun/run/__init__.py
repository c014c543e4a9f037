"""`run(cfg)`: one training run, from a composed config to a finished run directory.

    run(cfg)                the entry: check the config, settle the run's directory and job,
                            write config.yaml, then hand the run to one process or to several
      train(cfg, ...)       one process (dlrun.run.process): build, fit, test the best
                            checkpoint, write summary.json
      train_in_processes    trainer.devices or trainer.num_nodes > 1: the launcher
                            (dlrun.distributed.launch) starts workers that each call train

The entry decides; it never trains itself, and the launcher gets `train` as a function,
so nothing below imports this package back.
"""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

__all__ = ["run"]


def run(
    cfg: DictConfig,
    run_dir: str | Path | None = None,
    job: dict | None = None,
    resume_from: Path | None = None,
    saved_config: bool = False,
    search=None,
) -> float:
    """Train, test and record one run; returns the best value of the monitored metric.

    `run_dir` and `job` (name, group, overrides) default to Hydra's for this job, so
    tests can call `run` on a composed config without the CLI. `resume_from`: a
    checkpoint of this run to continue from (`dlrun resume`). `saved_config`: `cfg` is a
    run's resolved config (reproduce), already holding the transforms it trained with.
    `search`: the Optuna trial this run is (dlrun.search.trial.SearchJob), found from Hydra
    when `job` is not given.
    """
    from dlrun.checks import validate
    from dlrun.search.trial import search_job

    validate(cfg)  # every key's rule, before torch
    search = search or (search_job() if job is None else None)  # a trial of dlrun's Optuna sweeper, or None
    job = job or hydra_job(search)
    run_dir = Path(run_dir or job["output_dir"])

    import torch

    from dlrun.distributed import ranks
    from dlrun.distributed.launch import train_in_processes
    from dlrun.distributed.topology import topology
    from dlrun.engine.checkpoint import atomic_write
    from dlrun.run.build import run_console, use_model_tokenizer, use_pretrained_preprocessing
    from dlrun.run.process import train

    console = run_console(cfg, run_dir, job)
    if resume_from is None and not saved_config:
        use_pretrained_preprocessing(cfg, job.get("overrides", []), console.say)
        use_model_tokenizer(cfg, console.say)
    config = OmegaConf.to_container(cfg, resolve=True)
    if resume_from is None and ranks.is_main():
        atomic_write(run_dir / "config.yaml", lambda f: f.write(OmegaConf.to_yaml(config).encode()))
    if ranks.distributed():  # torchrun started this process as one of the run's workers
        return train(cfg, run_dir, job, resume_from, search)
    if resume_from is None and cfg.trainer.print_config == "full":
        console.config_tree(config)
    nodes = topology(cfg.trainer, gpu_count=torch.cuda.device_count)
    if nodes.world_size > 1:  # many processes: they train, this one waits for them
        return train_in_processes(train, config, run_dir, job, nodes, resume_from, search)
    return train(cfg, run_dir, job, resume_from, search)


def hydra_job(search=None) -> dict:
    """This job's output dir, readable name, sweep group and overrides, from Hydra. The trials
    of a search are grouped by their study (so a continued study stays one group)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    overrides = list(hc.overrides.task)
    multirun = hc.mode == RunMode.MULTIRUN
    return {
        "output_dir": hc.runtime.output_dir,
        "name": ",".join(overrides) or None,
        "group": search.study_name if search else Path(hc.sweep.dir).name if multirun else None,
        "overrides": overrides,
        "num": hc.job.num if multirun else None,
        "choices": {k: v for k, v in hc.runtime.choices.items() if not k.startswith("hydra")},
    }
