"""What every task answers (dlrun.tasks): a small interface, one subclass per task."""

from dlrun.errors import plural


class Task:
    name: str = ""
    takes_class_indices: bool = False  # targets are class indices: nll/cross-entropy losses apply, MixUp/CutMix too
    # metric name -> (higher is better, what it is): computed by dlrun's own on-device sums
    # (dlrun.metrics.builtin), or by torchmetrics, imported when chosen (dlrun.metrics.library)
    builtin_metrics: dict = {}
    library_metrics: dict = {}
    sums: str = ""  # the on-device sums that compute builtin_metrics (dlrun.metrics.builtin.SUMS)
    squeeze_one_output: bool = False  # a single output is given to the library metrics as (batch,)
    confusion_matrix: bool = False  # `dlrun eval` shows and saves one
    outputs_meaning: str = ""  # what the exported model's outputs are (model.json)

    def default_metrics(self, num_outputs: int) -> list[str]:
        """The metric names computed when trainer.metrics is `default`."""
        raise NotImplementedError

    def default_monitor(self, chosen: list[str] | None = None) -> str:
        """The metric that picks best.pt when trainer.monitor is `auto`; `chosen`: the metric
        names computed (None: the defaults)."""
        return "val/loss"

    def outputs_text(self, num_outputs: int) -> str:
        """`10 classes`, `1 target value`: what the model's outputs are, for messages."""
        return plural(num_outputs, "output")

    def readable(self, outputs, info) -> list[dict]:
        """A row per input for `dlrun predict`: the model's outputs (a tensor) made readable."""
        raise NotImplementedError
