"""Every README example names options that exist: each composes as written."""

import re
import shlex
import sys
from pathlib import Path

import pytest

from dlrun.cli import check_group_choices
from dlrun.commands import SUBCOMMANDS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def shell_lines(text: str) -> list[str]:
    """The lines of the README's plain ``` blocks (not ```python or ```yaml)."""
    lines, language = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            language = None if language is not None else line[3:].strip()
        elif language == "":
            lines.append(line)
    return lines


COMMANDS = [
    line.split(" #")[0].strip() for line in shell_lines(README) if line.startswith("dlrun ") or line.strip() == "dlrun"
]
EXAMPLES = [
    c
    for c in COMMANDS
    if c == "dlrun"
    or c.split()[1] not in SUBCOMMANDS  # training runs
    and "--config-dir" not in c
]  # (the section's own test runs that one with its folder)


def test_readme_has_the_promised_examples():
    assert len(EXAMPLES) >= 5
    assert "dlrun model=resnet50 optimizer=adam lr=1e-3" in EXAMPLES
    assert any(" -m " in e for e in EXAMPLES)
    assert {c.split()[1] for c in COMMANDS if c != "dlrun"} >= {"datasets", "models", "predict", "export"}


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_composes(make_cfg, example):
    args = shlex.split(example)[1:]
    check_group_choices(args)
    overrides = [a for a in args if "=" in a and not a.startswith("-")]
    if "-m" in args:  # a sweep or a search: compose its first combination
        overrides = first_combination(overrides)
    cfg = make_cfg(*overrides)
    from dlrun.checks import problems

    readers_own = ("no such", "It must be a file in your working directory")  # the reader's files and modules
    if "hydra/launcher=slurm" in args:  # inside the SLURM job, its tasks give the multi-node rendezvous
        readers_own += ("needs a rendezvous endpoint",)
    assert [p for p in problems(cfg) if not any(text in p for text in readers_own)] == []


def first_combination(overrides: list[str]) -> list[str]:
    """A sweep's first value of each swept key (an interval's lower bound); Hydra's own settings
    (hydra.sweeper..., hydra.sweep.dir) are not part of the run's config."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    first = []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        if override.is_hydra_override():
            continue
        if override.is_interval_sweep():
            first.append(f"{key}={override.value().start}")
        elif override.is_sweep_override():
            first.append(f"{key}={next(iter(override.sweep_string_iterator()))}")
        else:
            first.append(f"{key}={override.get_value_element_as_str()}")
    return first


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    return README[start : README.index("\n## ", start + 1)]


@pytest.mark.slow
def test_your_own_pieces_section_runs(tmp_path, monkeypatch, train, dlrun_cli):
    """my_pieces.py and the YAML files as the README prints them; every command of the section trains."""
    import numpy as np
    import pandas as pd

    from tests.datasets.fixtures import image_tree

    text = section("Your own pieces")
    (tmp_path / "my_pieces.py").write_text(re.search(r"```python\n(.*?)```", text, re.S).group(1))
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        path = tmp_path / block.splitlines()[0].lstrip("# ").strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block)
    image_tree(tmp_path / "photos", per_class=8, size=8)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    commands = [line for line in text.splitlines() if line.startswith("dlrun ")]
    assert len(commands) == 8
    quick = ("epochs=1", "trainer.limit_train_batches=3")
    for index, command in enumerate(commands):
        args = shlex.split(command)[1:]
        if "--config-dir" in args:
            result = dlrun_cli(*args, *quick, "logger=none", "trainer.progress=none", cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
        else:
            run_dir = train(*args, *quick, run_dir=tmp_path / f"run{index}")
        assert (run_dir / "summary.json").is_file(), command
    pd.DataFrame({"a": np.arange(40.0), "price": np.arange(40.0) * 2}).to_parquet(tmp_path / "houses.parquet")
    train(
        "dataset=table",
        "dataset.path=houses.parquet",
        "dataset.target=price",
        "loss=mse",
        "model=mlp",
        *quick,
        run_dir=tmp_path / "table",
    )
    sys.modules.pop("my_pieces", None)


def test_the_group_table_lists_every_option():
    """Each config group's row in "How a run is composed" names every option its folder holds."""
    from dlrun.config.tree import conf_dir

    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2]
        for line in section("How a run is composed").splitlines()
        if line.startswith("| `")
    }
    missing = {}
    for group, cells in rows.items():
        folder = conf_dir() / group
        options = {p.stem for p in folder.glob("*.yaml")}
        unnamed = sorted(o for o in options if f"`{o}`" not in cells)
        if unnamed:
            missing[group] = unnamed
    groups = {p.name for p in conf_dir().iterdir() if p.is_dir() and p.name != "hydra"} | {"dataset/transforms"}
    assert set(rows) == groups and missing == {}, (set(rows) ^ groups, missing)
