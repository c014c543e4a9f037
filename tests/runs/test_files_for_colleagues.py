"""Files dlrun writes are readable as the user's umask says (a colleague on a shared file
system reads them when the umask allows it), and its CSV files end lines with \\n."""

import argparse
import os
import stat
from pathlib import Path

import pytest

from dlrun.commands import export as export_command
from dlrun.commands import predict as predict_command
from dlrun.runs.report import job_dirs, read_job, write_report


@pytest.fixture
def umask():
    before = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(before)


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("mask", [0o022, 0o002], ids=["umask022", "umask002"])
def test_every_file_of_a_run_follows_the_umask(train, tmp_path, umask, mask):
    umask(mask)
    run_dir = train("epochs=1", "trainer.limit_train_batches=2")
    args = export_command.parser().parse_args([str(run_dir), "--format", "all"])
    assert export_command.main(args) == 0
    table = tmp_path / "rows.csv"
    table.write_text("x\n")
    image = tmp_path / "digit.png"
    from PIL import Image

    Image.new("L", (8, 8), 128).save(image)
    out = tmp_path / "predictions.csv"
    args = argparse.Namespace(run=str(run_dir), inputs=[str(image)], output=str(out), checkpoint="best", trust=[])
    assert predict_command.main(args) == 0
    write_report([read_job(p) for p in job_dirs([str(run_dir)])], tmp_path / "report")

    written = files_under(run_dir) + [out] + files_under(tmp_path / "report")
    names = {p.name for p in written}
    assert {"config.yaml", "summary.json", "metrics.csv", "train.log", "best.pt", "last.pt", "model.json"} <= names
    assert {"model.pt2", "model.safetensors", "report.csv"} <= names
    expected = 0o666 & ~mask
    wrong = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in written}
    wrong = {name: mode for name, mode in wrong.items() if mode != oct(expected)}
    assert wrong == {}, f"not {oct(expected)} under umask {oct(mask)}: {wrong}"

    for csv_file in (run_dir / "metrics.csv", out, tmp_path / "report" / "report.csv"):
        data = csv_file.read_bytes()
        assert b"\r" not in data and data.endswith(b"\n") and data.count(b"\n") >= 2, csv_file
