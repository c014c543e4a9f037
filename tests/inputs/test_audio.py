"""dataset=audio_folder and audio_table: clips decoded, mixed to mono and resampled, windows
of clip_seconds, log-mel / MFCC features that say where the sound's energy is, SpecAugment in
training only; a run from the CLI that tells the sounds apart, predicts on a file, exports its
feature settings, and resumes bit-identical."""

import argparse
import csv
import json

import numpy as np
import pytest
import torch

from dlrun.datasets import build_bundle
from tests.inputs.audio_data import CLASSES, clip_folder, sound
from tests.processes import dlrun
from tests.tasks.same_runs import killed_and_resumed, two_processes_and_one

QUIET = ("logger=none", "trainer.progress=none", "trainer.device=cpu")
HOW = {"sample_rate": 16000, "clip_seconds": 1.0, "n_mels": 64, "n_fft": 400, "hop_length": 160, "n_mfcc": 20}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return clip_folder(tmp_path_factory.mktemp("audio") / "clips", per_class=60)


def test_decoding_mixes_to_mono_and_resamples(tmp_path):
    import soundfile

    from dlrun.datasets.audio.decoding import read_clip

    rate, t = 22050, np.arange(22050) / 22050
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    soundfile.write(tmp_path / "stereo.flac", np.stack([tone, tone], axis=1), rate)
    wave = read_clip(tmp_path / "stereo.flac", 16000)
    assert wave.dtype == np.float32 and abs(len(wave) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) * 16000 / len(wave) - 1000) < 2  # the tone kept its pitch
    assert abs(np.abs(wave[1000:-1000]).max() - 0.5) < 0.01


def test_log_mel_puts_a_tone_in_its_band_and_mfcc_is_its_dct():
    from scipy.fft import dct

    from dlrun.datasets.audio.features import Features, mel_filterbank

    t = torch.arange(16000) / 16000
    for freq in (300.0, 1000.0, 4000.0):
        logmel = Features({**HOW, "features": "logmel"})(torch.sin(2 * torch.pi * freq * t))
        assert logmel.shape == (1, 64, 101)
        peak = int(logmel[0, :, 10:-10].mean(1).argmax())
        filters = mel_filterbank(201, 64, 16000)
        assert filters[round(freq / 8000 * 200), peak] > 0, freq  # the band whose filter holds the tone
    mfcc = Features({**HOW, "features": "mfcc"})(torch.sin(2 * torch.pi * 440 * t))
    logmel440 = Features({**HOW, "features": "logmel"})(torch.sin(2 * torch.pi * 440 * t))
    expected = dct(logmel440[0].numpy().astype(np.float64), type=2, norm="ortho", axis=0)[:20]
    assert np.allclose(mfcc[0].numpy(), expected, atol=1e-3)


def test_clips_are_windowed_standardised_and_masked_in_training_only(make_cfg, clips):
    bundle = build_bundle(make_cfg("dataset=audio_folder", f"dataset.root={clips}").dataset)
    info = bundle.info
    assert info.class_names == CLASSES and info.input_shape == (1, 64, 101)
    how = info.preprocess
    assert how["kind"] == "audio" and how["features"] == "logmel" and how["std"] > 0
    first, again = bundle.val[0][0], bundle.val[0][0]
    assert torch.equal(first, again)  # evaluation: the centre window, no masks
    torch.manual_seed(0)
    masked = bundle.train[0][0]
    assert masked.shape == first.shape and not torch.equal(masked, bundle.train[0][0])  # a new window and masks
    values = torch.stack([bundle.train[i][0] for i in range(len(bundle.train))])
    assert abs(values.mean()) < 0.2 and 0.8 < values.std() < 1.2
    waves = build_bundle(make_cfg("dataset=audio_folder", f"dataset.root={clips}", "dataset.features=waveform",
                                  "model=audio_cnn").dataset)  # fmt: skip
    assert waves.info.input_shape == (1, 16000) and waves.test[0][0].shape == (1, 16000)


def test_an_audio_table_gives_any_task(make_cfg, clips, tmp_path):
    rows = [("file", "label", "loudness")]
    for i, path in enumerate(sorted(clips.rglob("*.wav"))[::4]):
        rows.append((str(path.relative_to(clips)), path.parent.name, i % 7 * 0.5))
    with open(clips / "clips.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    table = ("dataset=audio_table", f"dataset.path={clips / 'clips.csv'}")
    classes = build_bundle(make_cfg(*table, "dataset.target=label").dataset).info
    values = build_bundle(make_cfg(*table, "dataset.target=loudness", "task=regression", "loss=mse").dataset).info
    assert classes.task == "classification" and values.task == "regression" and values.target_std[0] > 0


@pytest.mark.slow
def test_a_spectrogram_cnn_tells_the_sounds_apart_and_predicts_a_file(train, clips, tmp_path):
    """The done-when run, in this process: test accuracy >= 0.9 with model=cnn on log-mel
    spectrograms; `dlrun predict clip.wav` answers with the right sound."""
    from dlrun.commands import predict

    run_dir = train(
        "dataset=audio_folder", f"dataset.root={clips}", "model=cnn", "epochs=8", "lr=3e-3", "batch_size=16"
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test"]["test/acc"] >= 0.9, summary["test"]
    import soundfile

    rng = np.random.default_rng(7)
    for kind in ("high_tone", "noise_burst"):
        soundfile.write(tmp_path / f"{kind}.ogg", sound(kind, 44100, 2.0, rng), 44100)  # another rate, format, length
    args = argparse.Namespace(
        run=str(run_dir), inputs=[str(tmp_path / "high_tone.ogg"), str(tmp_path / "noise_burst.ogg")], text=[],
        output=str(tmp_path / "p.csv"), checkpoint="best", trust=[], pictures_dir=None, score_threshold=0.5, json=None,
    )  # fmt: skip
    assert predict.main(args) == 0
    with open(tmp_path / "p.csv") as f:
        assert [row["class"] for row in csv.DictReader(f)] == ["high_tone", "noise_burst"]


def test_audio_cnn_trains_on_waveforms(train, clips):
    run_dir = train("dataset=audio_folder", f"dataset.root={clips}", "dataset.features=waveform", "model=audio_cnn",
                    "epochs=2")  # fmt: skip
    assert json.loads((run_dir / "summary.json").read_text())["test"]["test/acc"] > 0.25


@pytest.mark.slow
def test_an_audio_run_exports_its_feature_settings_and_resumes_bit_identical(tmp_path):
    few = clip_folder(tmp_path / "few", per_class=12, seconds=0.8)
    args = (*QUIET, "dataset=audio_folder", f"dataset.root={few}", "model=cnn", "epochs=2", "batch_size=8")
    _, run_dir = killed_and_resumed(args, tmp_path, every_n_steps=4)
    exported = dlrun("export", str(run_dir), "--format", "exported", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    spec = json.loads((run_dir / "export" / "model.json").read_text())["input"]
    assert spec["kind"] == "audio" and spec["features"] == "logmel"
    assert {k: spec[k] for k in HOW} == HOW and spec["shape"] == [1, 64, 101]


@pytest.mark.slow
def test_two_processes_score_an_audio_split_as_one_does(tmp_path):
    few = clip_folder(tmp_path / "few", per_class=10, seconds=0.8)
    ddp, one = two_processes_and_one((*QUIET, "dataset=audio_folder", f"dataset.root={few}", "epochs=1"), tmp_path)
    assert ddp["test/acc"] == one["test/acc"] and ddp["test/loss"] == pytest.approx(one["test/loss"], abs=1e-6)
