"""What a model sees of a clip: the waveform (1, samples), or a log-mel spectrogram (1, n_mels,
frames) or MFCCs (1, n_mfcc, frames), a one-channel image for any image model.

The spectrogram is torch.stft's power (Hann window, centred frames) through a triangular
mel filterbank (HTK's mel scale), in decibels; the MFCCs are its orthonormal DCT-II, as
torchaudio's MelSpectrogram and MFCC compute them. Written here because torchaudio has no
release for the torch dlrun installs (its last, 2.11, is built for torch 2.11) and librosa would
bring numba and llvmlite for two matrices."""

import math

import torch

FLOOR_DB = -100.0  # power floor (1e-10) in decibels


def frames(samples: int, hop_length: int) -> int:
    """Frames torch.stft gives for `samples` with centred frames."""
    return 1 + samples // hop_length


def feature_shape(how: dict) -> tuple[int, ...]:
    """(1, samples) or (1, bands, frames) for one clip of `how` (DataInfo.preprocess)."""
    samples = round(how["clip_seconds"] * how["sample_rate"])
    if how["features"] == "waveform":
        return (1, samples)
    bands = how["n_mels"] if how["features"] == "logmel" else how["n_mfcc"]
    return (1, bands, frames(samples, how["hop_length"]))


def mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int) -> torch.Tensor:
    """(n_freqs, n_mels) triangular filters evenly spaced on the mel scale from 0 Hz to Nyquist."""

    def mel(hz):
        return 2595.0 * torch.log10(1.0 + hz / 700.0)

    freqs = torch.linspace(0, sample_rate / 2, n_freqs, dtype=torch.float64)
    points = torch.linspace(float(mel(torch.tensor(0.0))), float(mel(torch.tensor(sample_rate / 2))), n_mels + 2)
    hz = 700.0 * (10 ** (points.double() / 2595.0) - 1.0)
    lower, centre, upper = hz[:-2], hz[1:-1], hz[2:]
    rising = (freqs[:, None] - lower) / (centre - lower)
    falling = (upper - freqs[:, None]) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0).float()


def dct_matrix(n_mfcc: int, n_mels: int) -> torch.Tensor:
    """(n_mels, n_mfcc) orthonormal DCT-II (scipy.fft.dct(type=2, norm='ortho') as a matrix)."""
    n = torch.arange(n_mels, dtype=torch.float64)
    k = torch.arange(n_mfcc, dtype=torch.float64)
    basis = torch.cos(math.pi / n_mels * (n[:, None] + 0.5) * k[None, :]) * math.sqrt(2.0 / n_mels)
    basis[:, 0] /= math.sqrt(2.0)
    return basis.float()


class Features:
    """waveform (samples,) -> the features `how` names, shape feature_shape(how)."""

    def __init__(self, how: dict):
        self.how = how
        if how["features"] != "waveform":
            self.window = torch.hann_window(how["n_fft"])
            self.filters = mel_filterbank(how["n_fft"] // 2 + 1, how["n_mels"], how["sample_rate"])
            self.dct = dct_matrix(how["n_mfcc"], how["n_mels"]) if how["features"] == "mfcc" else None

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        how = self.how
        if how["features"] == "waveform":
            return wave[None]
        spectrum = torch.stft(
            wave, how["n_fft"], how["hop_length"], window=self.window, center=True, return_complex=True
        )  # (freqs, frames)
        mel = self.filters.T @ spectrum.abs().pow(2)  # (n_mels, frames)
        db = 10.0 * torch.log10(mel.clamp(min=1e-10))
        if self.dct is not None:
            db = self.dct.T @ db  # (n_mfcc, frames)
        return db[None]


def spec_augment(features: torch.Tensor, settings: dict) -> torch.Tensor:
    """SpecAugment's masking (Park et al. 2019), as torchaudio's FrequencyMasking and TimeMasking:
    `freq_masks` bands of up to `freq_width` rows and `time_masks` spans of up to `time_width`
    frames set to the mean. Draws from torch's global generator (checkpointed: resume replays it)."""
    out = features.clone()
    _, rows, columns = out.shape
    fill = out.mean()
    for count, width, size, axis in (
        (settings["freq_masks"], settings["freq_width"], rows, 1),
        (settings["time_masks"], settings["time_width"], columns, 2),
    ):
        for _ in range(int(count)):
            span = int(torch.randint(0, int(width) + 1, ()).item())
            span = min(span, size)
            start = int(torch.randint(0, size - span + 1, ()).item())
            out.narrow(axis, start, span).fill_(fill)
    return out
