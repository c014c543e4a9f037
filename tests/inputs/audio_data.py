"""Generated audio clips in class folders (no downloads): four kinds of sound at a random
onset in noise, at several sample rates, some in stereo, so decoding, resampling, mono mixing
and windowing all take part."""

from pathlib import Path

import numpy as np

CLASSES = ("chirp", "high_tone", "low_tone", "noise_burst")


def sound(kind: str, rate: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    n = int(rate * seconds)
    t = np.arange(n) / rate
    clip = 0.02 * rng.standard_normal(n)  # background noise
    length = rng.uniform(0.3, 0.6)
    start = rng.uniform(0, seconds - length)
    on = (t >= start) & (t < start + length)
    local = t[on] - start
    amplitude = rng.uniform(0.3, 0.8)
    if kind == "low_tone":
        part = np.sin(2 * np.pi * rng.uniform(200, 400) * local)
    elif kind == "high_tone":
        part = np.sin(2 * np.pi * rng.uniform(1500, 2500) * local)
    elif kind == "chirp":
        f0, f1 = rng.uniform(300, 500), rng.uniform(2500, 3500)
        part = np.sin(2 * np.pi * (f0 * local + (f1 - f0) / (2 * length) * local**2))
    else:
        part = rng.standard_normal(on.sum()) * 0.5
    clip[on] += amplitude * part
    return clip.astype(np.float32)


def clip_folder(root: Path, per_class: int = 40, seconds: float = 1.2, seed: int = 0, fmt: str = "wav") -> Path:
    """root/<class>/<i>.wav: `per_class` clips of `seconds` each; every third at 22050 Hz, every
    fifth in stereo, the rest mono 16 kHz."""
    import soundfile

    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            rate = 22050 if i % 3 == 0 else 16000
            clip = sound(kind, rate, seconds, rng)
            if i % 5 == 0:
                clip = np.stack([clip, clip * 0.9], axis=1)
            soundfile.write(root / kind / f"{i:03d}.{fmt}", clip, rate)
    return root
