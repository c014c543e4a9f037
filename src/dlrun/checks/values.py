"""Predicates for config values and the rule table runner. No torch: these run before it."""

from omegaconf import OmegaConf

from dlrun.config import plain

ABSENT = object()


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(low: int, allow_none: bool = False):
    return lambda v: (allow_none and v is None) or (is_int(v) and v >= low)


def number(low: float, high: float | None = None, *, low_open=False, high_open=False, allow_none=False):
    def ok(v):
        if allow_none and v is None:
            return True
        if not is_number(v) or (v <= low if low_open else v < low):
            return False
        return high is None or (v < high if high_open else v <= high)

    return ok


def one_of(*valid, allow_none: bool = False):
    return lambda v: (
        (allow_none and v is None) or (isinstance(v, (str, int)) and not isinstance(v, bool) and v in valid)
    )


def boolean(v) -> bool:
    return isinstance(v, bool)


def size(allow_none: bool = True, allow_auto: bool = False):
    """A number of pixels or [height, width]."""

    def ok(v):
        if v is None:
            return allow_none
        if allow_auto and v == "auto":
            return True
        sizes = [v] if is_int(v) else v if isinstance(v, list) else None
        return sizes is not None and 1 <= len(sizes) <= 2 and all(is_int(s) and s >= 1 for s in sizes)

    return ok


def import_path(v) -> bool:
    parts = str(v).split(".") if isinstance(v, str) else []
    return len(parts) >= 2 and all(p.isidentifier() for p in parts)


def lookup(cfg, path: str):
    """The value at a dotted path (interpolations resolved, containers as plain data); ABSENT
    when the key is not there or is still ??? (reported as missing on its own)."""
    try:
        node = OmegaConf.select(cfg, path, default=ABSENT, throw_on_missing=False)
    except Exception:  # an interpolation that does not resolve: Hydra's own message covers it
        return ABSENT
    return node if node is ABSENT else plain(node)


def apply(cfg, rules) -> list[str]:
    """Check `rules`, a list of (dotted key, predicate, what is valid), where the key exists."""
    found = []
    for path, ok, valid in rules:
        value = lookup(cfg, path)
        if value is not ABSENT and not ok(value):
            found.append(f"{path}={value!r} is not valid: use {valid}.")
    return found
