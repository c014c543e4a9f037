"""Audio files to mono float32 waveforms at a sample rate: soundfile (libsndfile, bundled in its
wheels: WAV, FLAC, OGG/Vorbis, MP3 and more, nothing else to install, independent of torch's
version) decodes, scipy's polyphase filter (resample_poly) resamples."""

from math import gcd

import numpy as np

from dlrun.datasets.file_formats import AUDIO_SUFFIXES  # noqa: F401  (the suffixes this module decodes)
from dlrun.errors import DlrunError, first_line

SKIP_HINT = "Replace or delete it, or set dataset.skip_bad_files=true to leave damaged files out with a warning."


def duration(path) -> tuple[int, int]:
    """(frames, sample rate) from the file's header; a file that is not audio is named."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception as err:  # soundfile.LibsndfileError (a RuntimeError), or OSError
        raise DlrunError(f"{path} is not an audio file that can be read ({first_line(err)}). {SKIP_HINT}") from err
    return int(info.frames), int(info.samplerate)


def read_clip(path, sample_rate: int) -> np.ndarray:
    """The whole file as a mono float32 waveform (N,) at `sample_rate`: channels averaged."""
    import soundfile

    try:
        source = path if hasattr(path, "read") else str(path)  # a path, or a binary file object (an upload)
        data, rate = soundfile.read(source, dtype="float32", always_2d=True)
    except Exception as err:
        raise DlrunError(f"{path} is not an audio file that can be read ({first_line(err)}). {SKIP_HINT}") from err
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return resample(wave, rate, sample_rate)


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target or len(wave) == 0:
        return np.ascontiguousarray(wave, dtype=np.float32)
    from scipy.signal import resample_poly

    common = gcd(int(rate), int(target))
    return resample_poly(wave, target // common, rate // common).astype(np.float32)
