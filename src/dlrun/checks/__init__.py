"""Checks on the composed config, gathered and reported together before anything is built
and before torch is imported: a wrong value answers within about a second.

One module per part of the config, each a table of (key, predicate, what is valid) rules
plus the checks that need more than one key or the file system."""

from omegaconf import DictConfig, OmegaConf

from dlrun.checks.data import data_problems
from dlrun.checks.imports import import_problems
from dlrun.checks.inputs import input_problems
from dlrun.checks.logger import logger_problems
from dlrun.checks.metrics import metric_problems
from dlrun.checks.model import model_problems
from dlrun.checks.parts import parts_problems
from dlrun.checks.trainer import top_level_problems, trainer_problems
from dlrun.errors import DlrunError


def problems(cfg: DictConfig, data_files: bool = True) -> list[str]:
    """Every problem of `cfg`, in the order of its groups. `data_files`: also that the files
    and folders the dataset names exist (not for predict and export, which do not read them)."""
    found = [
        f"{key} is required: set it on the command line, e.g. {key}=..."
        for key in sorted(OmegaConf.missing_keys(cfg))
        if not (key == "dataset.target" and OmegaConf.select(cfg, "dataset.targets"))  # several 0/1 columns instead
    ]
    found += top_level_problems(cfg)
    found += trainer_problems(cfg) + metric_problems(cfg) + data_problems(cfg, files=data_files) + input_problems(cfg)
    for group in (model_problems, parts_problems, logger_problems, import_problems):
        found += group(cfg)
    return found


def data_problems_only(cfg: DictConfig) -> list[str]:
    """The problems of the data's config alone (`dlrun data convert`: no model trains)."""
    found = [f"{key} is required: set it on the command line, e.g. {key}=..." for key in sorted(OmegaConf.missing_keys(cfg))
             if key.startswith("dataset.") and not (key == "dataset.target" and OmegaConf.select(cfg, "dataset.targets"))]  # fmt: skip
    return found + data_problems(cfg) + input_problems(cfg, model=False)


def validate(cfg: DictConfig, data_files: bool = True, only_data: bool = False) -> None:
    """Raise one DlrunError naming every problem of `cfg` (see `problems`); `only_data`: of its data."""
    found = data_problems_only(cfg) if only_data else problems(cfg, data_files)
    if len(found) == 1:
        raise DlrunError(found[0])
    if found:
        raise DlrunError("the config has these problems:\n" + "\n".join(f"  - {p}" for p in found))
