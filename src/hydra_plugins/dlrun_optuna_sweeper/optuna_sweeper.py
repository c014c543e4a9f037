"""Hydra finds plugins only in the `hydra_plugins` namespace package: this names dlrun's
Optuna sweeper there (`hydra/sweeper=optuna`, conf/hydra/sweeper/optuna.yaml)."""

from dlrun.search.sweeper import OptunaSweeper


class DlrunOptunaSweeper(OptunaSweeper):
    """dlrun.search.sweeper.OptunaSweeper, registered for Hydra."""
