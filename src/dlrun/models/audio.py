"""model=audio_cnn: a 1-D convolutional network on waveforms (M5, Dai et al. 2017): a wide
strided first convolution, then blocks of convolution, batch norm, ReLU and pooling, a global
average over time, a linear head. Takes (B, 1, samples) (dataset.features=waveform)."""

from torch import nn

from dlrun.datasets.info import DataInfo
from dlrun.errors import DlrunError


def audio_cnn(cfg, info: DataInfo) -> nn.Module:
    if len(info.input_shape) != 2:
        raise DlrunError(
            f"model=audio_cnn takes waveforms (1, samples); this data set gives {info.input_shape}. With audio "
            "data set dataset.features=waveform, or use an image model (model=cnn) on spectrograms."
        )
    channels = [int(c) for c in cfg.channels]
    layers: list[nn.Module] = []
    width = info.input_shape[0]
    for index, out in enumerate(channels):
        kernel, stride = (cfg.first_kernel, cfg.first_stride) if index == 0 else (3, 1)
        layers += [
            nn.Conv1d(width, out, kernel, stride=stride, padding=kernel // 2),
            nn.BatchNorm1d(out),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(cfg.pool),
        ]
        width = out
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(cfg.dropout), nn.Linear(width, info.num_outputs)]
    return nn.Sequential(*layers)
