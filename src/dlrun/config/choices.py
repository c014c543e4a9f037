"""Which option of each config group the command line picks, checked before Hydra composes
(close matches first), and `compose`: the config a command line gives, through Hydra's
compose API (for commands that take a run's overrides, such as `dlrun lr-find`)."""

from pathlib import Path

from dlrun.compat import hydra_args_parser
from dlrun.config.tree import GROUPS, conf_dir, group_options, register_generated_options
from dlrun.errors import DlrunError, first_line, unknown_choice


def check_group_choices(argv: list[str]) -> None:
    """Name an unknown `group=option` with close matches before Hydra's long listing.

    Hydra would reject it too, but lists every option in no order; here the
    close matches come first. Sources this check cannot see (a `pkg://` search
    path) switch it off for that call, and Hydra's own check still applies.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    args, _ = hydra_args_parser().parse_known_args(argv)
    if args.help or args.hydra_help or args.shell_completion:
        return
    try:
        overrides = OverridesParser.create().parse_overrides(args.overrides)
    except HydraException:
        return  # a malformed override: Hydra reports it with its own precise message
    launcher = next((o.value() for o in overrides if o.key_or_group == "hydra/launcher"), None)
    if launcher and not args.multirun:  # Hydra would train here, on this machine, without a word
        raise DlrunError(
            f"hydra/launcher={launcher} launches the jobs of a sweep: add -m (one run is a sweep of "
            f"one job), e.g. dlrun -m hydra/launcher={launcher} ..."
        )
    extra_dirs = [Path(args.config_dir)] if args.config_dir else []
    for override in overrides:
        if override.key_or_group == "hydra.searchpath":
            paths = override.value() if isinstance(override.value(), list) else [override.value()]
            if any(str(p).startswith("pkg://") for p in paths):
                return
            extra_dirs += [Path(str(p).removeprefix("file://")) for p in paths]
    for override in overrides:
        group = override.key_or_group
        if group not in GROUPS or override.is_delete() or override.package:
            continue
        valid = group_options(group, extra_dirs)
        for value in choice_values(override):
            if value not in valid:
                raise unknown_choice(group, value, valid)


def choice_values(override) -> list[str]:
    """The option names an override picks: `model=a`, `-m model=a,b`, `logger=[a,b]`."""
    if override.is_sweep_override():
        try:
            return list(override.sweep_string_iterator())
        except Exception:
            return []  # a range or interval sweep: not option names
    value = override.value()
    if isinstance(value, list):
        return [str(v) for v in value]
    return [] if value is None else [str(value)]


def compose(overrides: list[str]):
    """The run's config as `dlrun OVERRIDES` composes it (Hydra's compose API), with Hydra's
    errors in dlrun's words and a `+key` that nothing reads refused, as for a training run."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from dlrun.config.overrides import hydra_error_message, unread_additions

    register_generated_options()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = hydra_compose(config_name="config", overrides=list(overrides))
            problems = unread_additions(
                cfg,
                list(overrides),
                lambda kept: hydra_compose(config_name="config", overrides=kept, return_hydra_config=True),
            )
    except (HydraException, OmegaConfBaseException) as err:
        raise DlrunError(hydra_error_message(err, list(overrides)) or first_line(err)) from err
    if problems:
        raise DlrunError(problems[0])
    return cfg
