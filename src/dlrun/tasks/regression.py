"""Values per sample: outputs and targets (batch, K), in the targets' units."""

from dlrun.errors import plural
from dlrun.tasks.base import Task


class Regression(Task):
    name = "regression"
    sums = "value_sums"  # dlrun.metrics.builtin.SUMS: what computes its builtin metrics
    losses = "mse, l1, smooth_l1 or huber"  # what messages suggest
    default_loss = "mse"
    outputs_meaning = "values in the target's units"
    squeeze_one_output = True  # one output: (batch,) values for the library metrics
    builtin_metrics = {
        "mae": (False, "mean absolute error"),
        "mse": (False, "mean squared error"),
        "r2": (True, "R2, averaged over outputs"),
        "rmse": (False, "root mean squared error"),
    }
    library_metrics = {
        "mape": (False, "mean absolute percentage error"),
        "explained_variance": (True, "explained variance, averaged over outputs"),
        "pearson": (True, "Pearson correlation, averaged over outputs"),
        "spearman": (True, "Spearman rank correlation, averaged over outputs"),
    }

    def default_metrics(self, num_outputs: int) -> list[str]:
        return ["mae", "mse", "r2", "rmse"]

    def outputs_text(self, num_outputs: int) -> str:
        return plural(num_outputs, "target value")

    def readable(self, outputs, info, thresholds=None) -> list[dict]:
        """The predicted value (value_0, value_1 ... for several)."""
        return [
            {f"value_{i}" if len(values) > 1 else "value": v for i, v in enumerate(values)}
            for values in outputs.tolist()
        ]
