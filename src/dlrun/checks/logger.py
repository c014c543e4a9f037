"""logger.* (W&B and TensorBoard options)."""

from dlrun.checks.values import apply, boolean, lookup, number, one_of, whole

RULES = [
    ("logger.wandb.mode", one_of("auto", "online", "offline", "disabled"), "one of auto, online, offline, disabled"),
    (
        "logger.wandb.watch",
        one_of("gradients", "parameters", "all", allow_none=True),
        "null, gradients, parameters or all",
    ),
    ("logger.wandb.watch_log_freq", whole(1), "a whole number of steps >= 1"),
    ("logger.wandb.init_timeout", number(0, low_open=True), "a number of seconds > 0"),
    ("logger.wandb.log_model", boolean, "true or false"),
    ("logger.wandb.tags", lambda v: isinstance(v, list), "a list, e.g. [baseline, v2]"),
    ("logger.tensorboard.flush_secs", number(0, low_open=True), "a number of seconds > 0"),
    ("logger.mlflow.log_model", boolean, "true or false"),
    ("logger.mlflow.experiment", lambda v: isinstance(v, str) and v.strip() != "", "an experiment name"),
    (
        "logger.mlflow.tracking_uri",
        lambda v: v is None or (isinstance(v, str) and v.strip() != ""),
        "null (MLFLOW_TRACKING_URI, else outputs/mlflow.db) or a URI such as http://127.0.0.1:5000",
    ),
]


BACKENDS = ("wandb", "tensorboard", "mlflow")  # one module each in dlrun.engine.loggers


def logger_problems(cfg) -> list[str]:
    found = apply(cfg, RULES)
    logger = lookup(cfg, "logger")
    if isinstance(logger, dict) and (unknown := sorted(set(logger) - set(BACKENDS))):
        found.append(
            f"logger.{unknown[0]} is not a logger: the loggers are {', '.join(BACKENDS)} "
            "(logger=[wandb,tensorboard] for several, logger=none for metrics.csv only)."
        )
    return found
