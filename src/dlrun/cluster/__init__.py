"""Clusters: SLURM jobs through submitit and Hydra's submitit launcher.

slurm_env.py  what a process learns from SLURM's environment (tasks, hosts, restarts); no torch
resources.py  the `hydra/launcher=slurm` preset's `auto` values from the trainer, checked before submitting
launcher.py   the Hydra launcher: submit a sweep's jobs, wait, record the jobs that fail for good
requeue.py    inside a job: a requeued job continues its run; SLURM's warning signal requeues it
"""
