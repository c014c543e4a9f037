"""Every README example names options that exist: each composes as written."""

import re
import shlex
from pathlib import Path

import pytest

from dlrun.cli import check_group_choices
from dlrun.commands import SUBCOMMANDS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
COMMANDS = [line.split("#")[0].strip() for block in re.findall(r"```\n(.*?)```", README, re.S)
            for line in block.splitlines() if line.startswith("dlrun ") or line.strip() == "dlrun"]
EXAMPLES = [c for c in COMMANDS if c == "dlrun" or c.split()[1] not in SUBCOMMANDS]  # training runs


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
    if "-m" in args:  # a sweep: compose its first combination
        overrides = [f"{a.split('=')[0]}={a.split('=')[1].split(',')[0]}" for a in overrides]
    cfg = make_cfg(*overrides)
    from dlrun.validate import problems

    assert problems(cfg) == []
