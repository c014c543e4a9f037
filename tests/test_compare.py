"""`dlrun compare`: only what differs, the metrics side by side, the curves in one PNG."""

import csv

import pytest

pytestmark = pytest.mark.slow  # dlrun trains the runs it compares, in processes of its own


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    from tests.processes import QUIET, dlrun

    root = tmp_path_factory.mktemp("compare")
    for name, lr in (("a", "1e-3"), ("b", "3e-3")):
        result = dlrun(*QUIET, "epochs=2", f"lr={lr}", f"hydra.run.dir={name}", cwd=root)
        assert result.returncode == 0, result.stderr
    sweep = dlrun("-m", *QUIET, "epochs=2", "lr=1e-2,1e-4", "hydra.sweep.dir=sweep", cwd=root)
    assert sweep.returncode == 0, sweep.stderr
    return root


def test_two_runs_that_differ_in_lr(dlrun_cli, two_runs):
    result = dlrun_cli("compare", "a", "b", "--output", "table.csv", "--plot", "curves.png", cwd=two_runs)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(open(two_runs / "table.csv")))
    assert rows[0] == ["", "lr=0.001", "lr=0.003"]  # each run named by what differs
    config_keys = [row[0] for row in rows if row[0].startswith("config ")]
    assert config_keys == ["config lr", "config optimizer.lr"]  # only the lr keys
    assert next(row for row in rows if row[0] == "config lr")[1:] == ["0.001", "0.003"]
    test_acc = next(row for row in rows if row[0] == "test/acc")
    assert test_acc[2].endswith(")") and "(" in test_acc[2]  # the difference to the first run
    assert (two_runs / "curves.png").stat().st_size > 10_000
    assert "config lr" in result.stdout and "best val/acc" in result.stdout


def test_the_figure_names_runs_by_what_differs_and_keeps_earlier_figures(dlrun_cli, two_runs):
    from dlrun.runs.compare import open_runs, plot_path, run_names

    assert run_names(open_runs([str(two_runs / "a"), str(two_runs / "b")])) == ["lr=0.001", "lr=0.003"]
    first = dlrun_cli("compare", "a", "b", cwd=two_runs)
    assert first.returncode == 0, first.stderr
    assert "wrote a/compare.png" in first.stdout and (two_runs / "a" / "compare.png").stat().st_size > 10_000
    runs = open_runs([str(two_runs / "a"), str(two_runs / "b")])
    assert plot_path(None, runs) == (two_runs / "a" / "compare-2.png", False)  # beside, not over, the first
    assert plot_path(str(two_runs / "a" / "compare.png"), runs) == (two_runs / "a" / "compare.png", True)  # said


def test_a_sweep_folder_stands_for_its_best_run(dlrun_cli, two_runs):
    result = dlrun_cli("compare", "sweep", "a", "--output", "table.md", cwd=two_runs)
    assert result.returncode == 0, result.stderr
    text = (two_runs / "table.md").read_text()
    assert "sweep (best: 0)" in text  # lr=1e-2 trains further in 2 epochs than 1e-4
    assert "| config lr | 0.01 | 0.001 |" in text


@pytest.mark.parametrize(
    "args,message",
    [
        (["a"], "compare needs at least two runs"),
        (["a", "nowhere"], "nowhere: no such directory"),
        (["a", "b", "--output", "table.txt"], "use a .csv or .md file name"),
    ],
)
def test_compare_errors(dlrun_cli, two_runs, args, message):
    result = dlrun_cli("compare", *args, cwd=two_runs)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
