"""The search space: Hydra's sweep syntax read as Optuna distributions.

    interval(a, b)              -> FloatDistribution(a, b)        (Hydra reads interval bounds as floats)
    tag(log, interval(a, b))    -> the same on a log scale
    range(a, b, step=s)         -> IntDistribution(a, last, step=s): Hydra's stop is exclusive, and stays so
    choice(x, y) / x,y          -> CategoricalDistribution([x, y])
    a plain value               -> fixed for every trial

Parameters come from `hydra.sweeper.params` (a preset) and from the command line;
the command line wins for a key given in both.
"""

import math
from dataclasses import dataclass

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from hydra.errors import HydraException

from dlrun.errors import DlrunError

SYNTAX = "interval(1e-4, 1e-1), tag(log, interval(1e-4, 1e-1)), range(16, 129, step=16), choice(adam, sgd) or adam,sgd"


@dataclass
class SearchSpace:
    distributions: dict  # override key -> optuna distribution
    fixed: list[str]  # overrides every trial gets as they are

    def trial_overrides(self, params: dict) -> list[str]:
        """The overrides of one trial: the fixed ones, then the sampled values."""
        return [*self.fixed, *(f"{key}={format_value(value)}" for key, value in params.items())]


def search_space(config_params: dict | None, arguments: list[str]) -> SearchSpace:
    """`config_params`: {key: sweep string} from hydra.sweeper.params; `arguments`: the command line."""
    parser = OverridesParser.create()
    by_key: dict[str, Override] = {}
    for key, value in (config_params or {}).items():
        by_key.update({o.get_key_element(): o for o in parse(parser, [f"{key}={value}"], "hydra.sweeper.params")})
    by_key.update({o.get_key_element(): o for o in parse(parser, arguments, "the command line")})
    distributions, fixed = {}, []
    for key, override in by_key.items():
        if override.is_sweep_override():
            distributions[key] = distribution(override)
        else:
            fixed.append(f"{key}={override.get_value_element_as_str()}")
    if not distributions:
        raise DlrunError(
            "The search has nothing to search: give at least one parameter a range, e.g. "
            "'lr=tag(log, interval(1e-4, 1e-1))' optimizer=adam,sgd, or pick a preset "
            "(hparams_search=digits_optuna)."
        )
    return SearchSpace(distributions, fixed)


def parse(parser, overrides: list[str], where: str) -> list[Override]:
    try:
        return parser.parse_overrides(list(overrides))
    except HydraException as err:
        raise DlrunError(f"Could not read a search parameter from {where}: {err}") from err


def distribution(override: Override):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    key, value = override.get_key_element(), override.value()
    log = "log" in getattr(value, "tags", set())
    if override.is_choice_sweep() or (override.is_range_sweep() and value.shuffle):
        if log:
            raise DlrunError(f"{key}: tag(log, ...) applies to interval and range, not to a list of choices.")
        choices = list(override.sweep_iterator(transformer=Transformer.encode))
        if len(set(map(str, choices))) != len(choices):
            raise DlrunError(f"{key}: the choices {choices} repeat a value.")
        return CategoricalDistribution(choices)
    if override.is_interval_sweep():
        assert isinstance(value, IntervalSweep)
        check_bounds(key, value.start, value.end, log)  # Hydra reads interval bounds as floats; range is for integers
        return FloatDistribution(float(value.start), float(value.end), log=log)
    if override.is_range_sweep():
        assert isinstance(value, RangeSweep)
        start, stop, step = value.start, value.stop, value.step
        if step <= 0 or stop <= start:
            raise DlrunError(
                f"{key}=range({start}, {stop}, step={step}) is empty: the search needs start < stop "
                "and a positive step (the stop is exclusive, as in Hydra and Python)."
            )
        last = start + step * math.ceil((stop - start) / step - 1)  # the last value before the exclusive stop
        if log and step != 1:
            raise DlrunError(
                f"{key}: a log-scale range needs step=1 (Optuna samples log-scale integers without a step)."
            )
        if all(isinstance(v, int) for v in (start, stop, step)):
            check_bounds(key, start, last, log)
            return IntDistribution(start, last, step=step, log=log)
        check_bounds(key, start, last, log)
        return FloatDistribution(float(start), float(last), step=None if log else float(step), log=log)
    raise DlrunError(
        f"{key}={override.get_value_element_as_str()} is not a sweep the search understands: use {SYNTAX}."
    )


def check_bounds(key: str, low, high, log: bool) -> None:
    if not low < high:
        raise DlrunError(f"{key}: the lower bound {low} must be below the upper bound {high}.")
    if log and low <= 0:
        raise DlrunError(f"{key}: a log scale needs a lower bound above 0, not {low}.")


def format_value(value) -> str:
    """A sampled value as Hydra override text: floats keep every digit, strings stay as encoded."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return "null"
    return str(value)
