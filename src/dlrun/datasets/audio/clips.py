"""The Dataset of audio clips: a window of dataset.clip_seconds of each clip (random in training,
the centre in evaluation; shorter clips padded with silence at the end), its features,
standardised with the training split's mean and std, and SpecAugment's masks in training."""

import torch
from torch.utils.data import Dataset

from dlrun.datasets.audio.decoding import read_clip
from dlrun.datasets.audio.features import Features, spec_augment


def window(wave: torch.Tensor, samples: int, train: bool) -> torch.Tensor:
    """`samples` of `wave`: a random window (torch's global generator) or the centre one."""
    if len(wave) < samples:
        return torch.nn.functional.pad(wave, (0, samples - len(wave)))
    spare = len(wave) - samples
    start = int(torch.randint(0, spare + 1, ()).item()) if train and spare else spare // 2
    return wave[start : start + samples]


class ClipFeatures:
    """A waveform (any length) -> the model's input for it, as DataInfo.preprocess `how` says
    (also what predict and serve call for a file)."""

    def __init__(self, how: dict, augment: dict | None = None):
        self.how, self.augment = how, augment
        self.samples = round(how["clip_seconds"] * how["sample_rate"])
        self.features = Features(how)

    def __call__(self, wave: torch.Tensor, train: bool = False) -> torch.Tensor:
        x = self.features(window(wave, self.samples, train))
        if self.how.get("mean") is not None:
            x = (x - self.how["mean"]) / self.how["std"]
        if train and self.augment and self.how["features"] != "waveform":
            x = spec_augment(x, self.augment)
        return x


class Clips(Dataset):
    """(features, target) per clip. `sources`: decoded waveforms (held in memory) or file paths
    (decoded at each access, in the loader's workers)."""

    def __init__(self, sources: list, targets: torch.Tensor, make: ClipFeatures, train: bool):
        self.sources, self.targets, self.make, self.train = sources, targets, make, train
        self.evaluated: dict[int, torch.Tensor] = {}  # evaluation features of in-memory clips: the same every epoch

    def __len__(self) -> int:
        return len(self.sources)

    def wave(self, i) -> torch.Tensor:
        source = self.sources[i]
        if isinstance(source, torch.Tensor):
            return source
        return torch.from_numpy(read_clip(source, self.make.how["sample_rate"]))

    def __getitem__(self, i):
        if self.train:
            return self.make(self.wave(i), True), self.targets[i]
        if not isinstance(self.sources[i], torch.Tensor):  # decoded at each access: nothing kept
            return self.make(self.wave(i)), self.targets[i]
        if i not in self.evaluated:  # the centre window, no masks: computed once
            self.evaluated[i] = self.make(self.wave(i))
        return self.evaluated[i], self.targets[i]
