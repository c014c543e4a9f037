"""`dlrun summary [overrides]`: the composed model's layers, parameters, FLOPs and training
memory, without training; parameters as torchvision counts them, FLOPs as torch's counter."""

import re

import numpy as np
import pytest
from PIL import Image

from dlrun.models.summary import summarize, training_memory


def test_resnet50_on_digits_has_the_run_lines_parameters(dlrun_cli):
    result = dlrun_cli("summary", "model=resnet50")
    assert result.returncode == 0, result.stderr
    assert "parameters: 23,528,522 (23,528,522 trainable)" in result.stdout
    assert re.search(r"layer1 +│ Sequential +│ +\[B, 256, \d+, \d+\]", result.stdout)
    assert "optimizer state (adam)" in result.stdout and "activations at batch 64 (estimate)" in result.stdout


def test_a_1000_class_resnet50_counts_torchvisions_parameters():
    import torch
    import torchvision

    model = torchvision.models.resnet50()
    found = summarize(model, torch.zeros(2, 3, 64, 64), 2, depth=1)
    assert found.total == 25_557_032 == found.trainable
    assert [layer.name for layer in found.layers][:3] == ["(model)", "conv1", "bn1"]
    assert found.layers[0].shape == "[B, 1000]"
    memory = training_memory(found, 32, "adam")
    assert memory["parameters"] == 25_557_032 * 4 and memory["optimizer state (adam)"] == 2 * memory["gradients"]


@pytest.mark.slow
def test_resnet18_flops_at_224_are_torchs_count_for_the_bare_model(dlrun_cli, tmp_path):
    """An RGB image folder resized to 224x224 (10 classes): within 2 % of torch's FlopCounterMode
    on torchvision's resnet18 (1000 classes) at 1x3x224x224."""
    import torch
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    rng = np.random.default_rng(0)
    for c in range(10):
        (tmp_path / "images" / f"c{c}").mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(
                tmp_path / "images" / f"c{c}" / f"{i}.png"
            )
    result = dlrun_cli(
        "summary", "dataset=image_folder", f"dataset.root={tmp_path / 'images'}", "model=resnet18",
        "dataset.transforms.resize=[224,224]", "--depth", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ours = float(re.search(r"FLOPs per sample \(forward\): .*\(([\d,]+)\)", result.stdout).group(1).replace(",", ""))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        torchvision.models.resnet18().eval()(torch.zeros(1, 3, 224, 224))
    assert ours == pytest.approx(counter.get_total_flops(), rel=0.02)
    assert "input 3x224x224, 10 outputs" in result.stdout


def test_summary_of_an_auto_batch_run_says_so(dlrun_cli):
    result = dlrun_cli("summary", "batch_size=auto", "trainer.max_memory_gb=4")
    assert result.returncode == 0, result.stderr
    assert "batch_size=64 (batch_size=auto is searched when the run starts)" in result.stdout


def test_summary_refuses_what_training_would(dlrun_cli):
    typo = dlrun_cli("summary", "model=resnet19")
    assert typo.returncode == 2 and "resnet19" in typo.stderr and "Traceback" not in typo.stderr
    depth = dlrun_cli("summary", "--depth", "-1")
    assert depth.returncode == 2 and "--depth -1: give 0 or more" in depth.stderr
