"""The engine: gets built objects (model, loaders, loss, optimizer, loggers) and runs them."""

from dlrun.engine.checkpoint import load_checkpoint, save_checkpoint, write_json
from dlrun.engine.console import RunConsole
from dlrun.engine.device import device_name, select_device
from dlrun.engine.loggers import build_loggers
from dlrun.engine.loop import FitResult, evaluate, fit
from dlrun.engine.metrics import make_metrics

__all__ = [
    "FitResult", "RunConsole", "build_loggers", "device_name", "evaluate", "fit",
    "load_checkpoint", "make_metrics", "save_checkpoint", "select_device", "write_json",
]
