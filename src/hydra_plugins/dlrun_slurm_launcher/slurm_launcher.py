"""Hydra finds plugins only in the `hydra_plugins` namespace package: this names dlrun's
SLURM launcher there (`hydra/launcher=slurm`, conf/hydra/launcher/slurm.yaml)."""

from dlrun.cluster.launcher import SlurmLauncher


class DlrunSlurmLauncher(SlurmLauncher):
    """dlrun.cluster.launcher.SlurmLauncher, registered for Hydra."""
