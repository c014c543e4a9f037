"""MixUp and CutMix of whole training batches with torchvision's `v2.MixUp` / `v2.CutMix`
(`dataset.transforms.mixup_alpha`, `cutmix_alpha`, `mix_switch_prob`, `mix_prob`).

Applied in the training loop after the batch is on its device; the targets become soft
labels (B, classes). Multi-label targets are multi-hot rows already: they are mixed as the
images are (torchvision takes 2-D labels as they are). Cross entropy (`loss=cross_entropy`, label smoothing included) and
`bce_with_logits` take them, as does a loss of the user's own (documented); the losses
that need class indices (nll) or compare values (mse, l1, smooth_l1, huber) are refused.
The draws come from torch's global generator, which every checkpoint holds, so a resumed
run mixes the same batches the same way.
"""

from dlrun import tasks
from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError

SOFT_TARGET_LOSSES = ("CrossEntropyLoss", "BCEWithLogitsLoss")


def build_mix(transforms_cfg, info: DataInfo, loss):
    """A callable (inputs, targets) -> (mixed inputs, soft targets), or None when mixing is off.
    `loss`: the built criterion's own loss (dlrun.training.losses.Criterion.loss)."""
    if transforms_cfg is None:
        return None
    mixup, cutmix = float(transforms_cfg.get("mixup_alpha") or 0), float(transforms_cfg.get("cutmix_alpha") or 0)
    if not mixup and not cutmix:
        return None
    if not tasks.get(info.task).mixes_labels or not info.is_image:
        raise DlrunError(
            "MixUp and CutMix (dataset.transforms.mixup_alpha / cutmix_alpha) mix images of a "
            f"classification or multilabel task; this data is {info.task} with inputs {info.input_shape}."
        )
    name = type(loss).__name__
    if type(loss).__module__.startswith("torch.nn") and name not in SOFT_TARGET_LOSSES:
        raise DlrunError(
            f"MixUp/CutMix give the loss soft targets (batch, classes), which {name} cannot take. "
            "Use loss=cross_entropy (label smoothing works with them) or loss=bce_with_logits, or a "
            "loss of your own that takes probabilities."
        )
    from torchvision.transforms import v2

    chosen = [v2.MixUp(alpha=mixup, num_classes=info.num_outputs)] if mixup else []
    chosen += [v2.CutMix(alpha=cutmix, num_classes=info.num_outputs)] if cutmix else []
    switch = float(transforms_cfg.get("mix_switch_prob", 0.5))
    mix = chosen[0] if len(chosen) == 1 else v2.RandomChoice(chosen, p=[1 - switch, switch])
    apply = float(transforms_cfg.get("mix_prob", 1.0))
    return mix if apply >= 1 else MixSometimes(mix, apply)


class MixSometimes:
    """Mix a batch with probability `p`; the others keep their labels, as one-hot rows."""

    def __init__(self, mix, p: float):
        self.mix, self.p = mix, p

    def __call__(self, inputs, targets):
        import torch
        import torch.nn.functional as F

        if torch.rand(()) < self.p:
            return self.mix(inputs, targets)
        if targets.dim() == 2:  # multi-hot rows already
            return inputs, targets.to(inputs.dtype)
        return inputs, F.one_hot(targets, self.mix_classes()).to(inputs.dtype)

    def mix_classes(self) -> int:
        first = self.mix.transforms[0] if hasattr(self.mix, "transforms") else self.mix
        return first.num_classes
