"""Hyperparameter search: dlrun's Optuna sweeper for Hydra (`dlrun -m hydra/sweeper=optuna ...`).

space.py     Hydra sweep syntax -> Optuna distributions
settings.py  hydra.sweeper.* checked, and the sampler, pruner and storage built from it
sweeper.py   the Sweeper: ask, launch a job per trial, tell
trial.py     inside a trial's job: report each validation, prune
workers.py   which process owns a trial; the CPU threads and GPU of each concurrent trial
results.py   what a trial's run directory says, optimization_results.yaml and Optuna's plots
"""
