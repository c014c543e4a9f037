"""What every task answers (dlrun.tasks): a small interface, one subclass per task."""

from dlrun.errors import plural


class Task:
    name: str = ""
    takes_class_indices: bool = False  # targets are class indices: nll/cross-entropy losses apply
    mixes_labels: bool = False  # MixUp/CutMix apply (image inputs): class indices or multi-hot rows
    losses: str = ""  # the losses that fit, for messages: "mse, l1, smooth_l1 or huber"
    default_loss: str = ""  # the conf/loss/ option conf/task/<name>.yaml selects, and messages suggest
    # metric name -> (higher is better, what it is): computed by dlrun's own on-device sums
    # (dlrun.metrics.builtin), or by torchmetrics, imported when chosen (dlrun.metrics.library)
    builtin_metrics: dict = {}
    library_metrics: dict = {}
    sums: str = ""  # the on-device sums that compute builtin_metrics (dlrun.metrics.builtin.SUMS)
    squeeze_one_output: bool = False  # a single output is given to the library metrics as (batch,)
    details: str = ""  # what `dlrun eval` shows beyond the scalars: "confusion" (matrix) | "per_label" (table)
    outputs_meaning: str = ""  # what the exported model's outputs are (model.json)
    evaluation_loss: bool = True  # the loss is computed in evaluation too (detectors: in training only)
    boxes: bool = False  # outputs are boxes per image (lists of detections), inputs lists of images

    def default_metrics(self, num_outputs: int) -> list[str]:
        """The metric names computed when trainer.metrics is `default`."""
        raise NotImplementedError

    def default_monitor(self, chosen: list[str] | None = None) -> str:
        """The metric that picks best.pt when trainer.monitor is `auto`; `chosen`: the metric
        names computed (None: the defaults)."""
        return "val/loss"

    spatial: bool = False  # outputs per pixel (batch, outputs, height, width): masks

    def output_shape(self, info) -> tuple:
        """What the model returns per sample: (outputs,), or (classes, height, width) per pixel."""
        return (info.num_outputs,)

    def outputs_text(self, num_outputs: int) -> str:
        """`10 classes`, `1 target value`: what the model's outputs are, for messages."""
        return plural(num_outputs, "output")

    def readable(self, outputs, info, thresholds=None) -> list[dict]:
        """A row per input for `dlrun predict`: the model's outputs (a tensor) made readable
        (`thresholds`: the run's decision thresholds, where its task has them)."""
        raise NotImplementedError
