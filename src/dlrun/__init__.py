"""dlrun: a command-line experiment runner for PyTorch."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dlrun")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
