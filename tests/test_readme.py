"""Every README example names options that exist: each composes as written."""

import re
import shlex
from pathlib import Path

import pytest

from dlrun.cli import check_group_choices

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
EXAMPLES = [line.split("#")[0].strip() for block in re.findall(r"```\n(.*?)```", README, re.S)
            for line in block.splitlines() if line.startswith("dlrun ") or line.strip() == "dlrun"]


def test_readme_has_the_promised_examples():
    assert len(EXAMPLES) >= 5
    assert "dlrun model=resnet50 optimizer=adam lr=1e-3" in EXAMPLES
    assert any(" -m " in e for e in EXAMPLES)


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
