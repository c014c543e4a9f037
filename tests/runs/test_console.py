"""What a run says: the short description (or the whole tree, or nothing), kept in train.log
also when the console is quiet; plain progress lines at regular times, not at random steps."""

import torch

from dlrun.engine import console as console_module
from dlrun.engine.console import RunConsole


def test_a_run_describes_itself_in_a_few_lines_and_keeps_them_in_train_log(train):
    said = (train("epochs=1", "lr=0.01").joinpath("train.log")).read_text().splitlines()
    words = [line.split()[2] for line in said[:6]]  # after the date and time
    assert words == ["run", "config", "changed", "data", "model", "training"]
    assert said[2].endswith("changed   epochs=1 lr=0.01")
    assert "digits: classification, 10 classes, 1x8x8 images; 1297/230/270 train/val/test samples" in said[3]
    assert "1 epoch of 21 batches of 64" in said[5]
    assert any(" epoch 1 " in line for line in said) and "test/acc" in "\n".join(said)
    assert not any("├── " in line for line in said)  # no config tree


def test_print_config_full_shows_the_tree_and_none_nothing(train, tmp_path):
    full = train("epochs=1", "trainer.print_config=full", run_dir=tmp_path / "full").joinpath("train.log").read_text()
    assert "├── trainer" in full and "print_config: full" in full
    none = train("epochs=1", "trainer.print_config=none", run_dir=tmp_path / "none").joinpath("train.log").read_text()
    assert "├── " not in none and " changed " not in none and " epoch 1 " in none


def test_plain_progress_lines_come_every_30_seconds(tmp_path, monkeypatch):
    clock = iter(range(0, 10_000, 7))  # each reading of the clock: 7 s later
    monkeypatch.setattr(console_module.time, "monotonic", lambda: next(clock))
    console = RunConsole("lines", log_file=tmp_path / "train.log", echo=False)
    with console.epoch(1, 1, batches=20) as update:
        for done in range(1, 21):
            update(done, torch.tensor(0.5), 100.0, logged=done % 3 == 0)
    lines = (tmp_path / "train.log").read_text().splitlines()
    assert [line.split("batch ")[1].split()[0] for line in lines] == ["5/20", "10/20", "15/20"]  # 35 s, 70 s, 105 s
