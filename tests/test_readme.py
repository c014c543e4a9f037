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
    if "-m" in args:  # a sweep or a search: compose its first combination
        overrides = first_combination(overrides)
    cfg = make_cfg(*overrides)
    from dlrun.checks import problems

    assert [p for p in problems(cfg) if "no such" not in p] == []   # the files named are the reader's own


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
