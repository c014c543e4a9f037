"""The one error class for things a user typed or configured wrongly, and how any error
reaches the person: `fail` prints one short line (no traceback) and exits, code 2 for a
mistake. Every layer raises DlrunError; only the command layer, the sweeper and the
launchers (which end the process themselves) call `fail`.
"""

import difflib
import sys
import textwrap
from collections.abc import Iterable
from typing import NoReturn


class DlrunError(ValueError):
    """A user-facing error: the message says what was wrong and what is valid."""


def fail(err: BaseException | str, code: int = 2) -> NoReturn:
    """Print `dlrun: error: ...` on stderr and end the process with `code`."""
    print(f"dlrun: error: {message(err) if isinstance(err, BaseException) else err}", file=sys.stderr)
    sys.exit(code)


def message(err: BaseException) -> str:
    """What to tell the user. A DlrunError raised in a DataLoader worker comes back re-raised
    with the worker's traceback as its text: only the original message is kept."""
    text = str(err)
    marker = "DlrunError: "
    if "Original Traceback (most recent call last)" in text and marker in text:
        return text[text.rindex(marker) + len(marker) :].strip()
    return text


def first_line(err: BaseException) -> str:
    """The first line of what to tell the user about `err` (its type's name when it says nothing)."""
    lines = message(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def out_of_memory(err: BaseException) -> bool:
    """torch's CUDA/MPS out-of-memory error, or the CPU allocator failing."""
    text = str(err)
    return type(err).__name__ == "OutOfMemoryError" or "can't allocate memory" in text or "out of memory" in text


def did_you_mean(name: str, valid: Iterable[str], n: int = 3) -> str:
    """' Did you mean: a, b?' for the close matches of `name`, or '' when none is close."""
    close = difflib.get_close_matches(str(name), list(valid), n=n, cutoff=0.6)
    return f" Did you mean: {', '.join(close)}?" if close else ""


def unknown_choice(kind: str, name: str, valid: Iterable[str], hint: str = "") -> DlrunError:
    """`Unknown model 'resnet19'. Did you mean: resnet18, resnet101?` plus the valid set."""
    valid = sorted(valid)
    listing = textwrap.fill(", ".join(valid), width=100, initial_indent="  ", subsequent_indent="  ")
    msg = f"Unknown {kind} '{name}'.{did_you_mean(name, valid)}\nValid options:\n{listing}"
    return DlrunError(msg + (f"\n{hint}" if hint else ""))


def innermost(err: BaseException) -> BaseException:
    """The first exception of a chain (what Hydra's instantiate wrapped)."""
    while err.__cause__ is not None:
        err = err.__cause__
    return err


def root_cause(err: BaseException) -> str:
    """The innermost message of an exception chain."""
    return str(innermost(err))


def plural(count: int, word: str) -> str:
    """`1 class`, `10 classes`, `1 output`, `21 batches`, `3 boxes`: counts in messages."""
    many = word + ("es" if word in ("class", "batch", "box") else "s")
    return f"{count:,} {word if count == 1 else many}"
