"""Audio inputs (dataset=audio_folder, dataset=audio_table): clips decoded with soundfile
(libsndfile: WAV, FLAC, OGG/Vorbis, MP3), mono, resampled to dataset.sample_rate, cut or
padded to dataset.clip_seconds (a random window in training, the centre in evaluation), as a
waveform or a log-mel spectrogram / MFCC with SpecAugment masking in training.

  decoding.py  files to mono float32 waveforms at the sample rate
  features.py  waveform -> log-mel spectrogram / MFCC (torch.stft), SpecAugment
  clips.py     the Dataset: a window of each clip, its features, standardised
  bundle.py    the files and targets of a folder or a table, the DataBundle
"""

from dlrun.datasets.audio.bundle import audio

__all__ = ["audio"]
