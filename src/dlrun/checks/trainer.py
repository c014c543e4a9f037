"""trainer.* and the top-level knobs (lr, batch_size, epochs, seed)."""

import re

from dlrun.checks.values import apply, lookup, boolean, is_int, is_number, number, one_of, whole
from dlrun.distributed.topology import topology_problems

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def batches_limit(v) -> bool:
    return v is None or (is_int(v) and v >= 1) or (isinstance(v, float) and 0 < v <= 1)


RULES = [
    ("trainer.device", lambda v: isinstance(v, str) and bool(DEVICE_PATTERN.match(v)), "auto, cpu, cuda, cuda:N or mps"),
    ("trainer.precision", lambda v: str(v) in ("32", "bf16", "16") and not isinstance(v, bool), "32, bf16 or 16"),
    ("trainer.grad_accum_steps", whole(1), "a whole number >= 1"),
    ("trainer.grad_clip", number(0, low_open=True, allow_none=True), "a positive number (a gradient norm) or null"),
    ("trainer.compile", boolean, "true or false"),
    ("trainer.channels_last", boolean, "true or false"),
    ("trainer.deterministic", boolean, "true or false"),
    ("trainer.limit_train_batches", batches_limit, "a number of batches >= 1, a share in (0, 1], or null"),
    ("trainer.limit_val_batches", batches_limit, "a number of batches >= 1, a share in (0, 1], or null"),
    ("trainer.max_epochs", whole(1, allow_none=True), "a whole number >= 1 or null"),
    ("trainer.val_every_n_epochs", whole(1), "a whole number >= 1"),
    ("trainer.log_every_n_steps", whole(1), "a whole number >= 1"),
    ("trainer.save_top_k", whole(1), "a whole number >= 1"),
    ("trainer.checkpoint_every_n_steps", whole(1, allow_none=True), "a whole number of steps >= 1 or null"),
    ("trainer.early_stopping.patience", whole(1, allow_none=True), "a whole number of validations >= 1 or null"),
    ("trainer.early_stopping.min_delta", number(0, allow_none=True), "a number >= 0"),
    ("trainer.ema.decay", number(0, 1, low_open=True, high_open=True, allow_none=True),
     "null or a number with 0 < decay < 1, e.g. 0.9998"),
    ("trainer.ema.every_n_steps", whole(1), "a whole number of optimizer steps >= 1"),
    ("trainer.ema.warmup_steps", whole(0), "a whole number of optimizer steps >= 0"),
    ("trainer.ema.evaluate", boolean, "true or false"),
    ("trainer.swa.start_epoch", whole(1, allow_none=True), "null or an epoch >= 1"),
    ("trainer.swa.lr", number(0, low_open=True, allow_none=True), "null or a learning rate > 0"),
    ("trainer.swa.anneal_epochs", whole(0), "a whole number of epochs >= 0"),
    ("trainer.sync_batchnorm", boolean, "true or false"),
    ("trainer.progress", one_of("auto", "bar", "lines", "none"), "auto, bar, lines or none"),
    ("trainer.mode", one_of("auto", "min", "max"), "auto, min or max"),
    ("trainer.monitor", lambda v: v == "auto" or (isinstance(v, str) and v.startswith(("val/", "train/"))),
     "auto or a metric such as val/acc, val/f1, val/loss"),
]


def top_level_problems(cfg) -> list[str]:
    found = []
    lr = cfg.get("lr")
    if not is_number(lr) or not lr > 0:
        found.append(f"lr={lr!r} is not a positive number: use e.g. lr=1e-3.")
    for key, example in (("batch_size", 64), ("epochs", 10)):
        value = cfg.get(key)
        if not is_int(value) or value < 1:
            found.append(f"{key}={value!r} must be a whole number >= 1, e.g. {key}={example}.")
    seed = cfg.get("seed")
    if not is_int(seed) or not 0 <= seed < 2**32:
        found.append(f"seed={seed!r} must be a whole number from 0 to 2**32-1, e.g. seed=0.")
    return found


def trainer_problems(cfg) -> list[str]:
    found = apply(cfg, RULES)
    trainer = cfg.trainer
    devices, nodes = trainer.get("devices", 1), trainer.get("num_nodes", 1)
    found += topology_problems(devices, nodes, trainer.get("rdzv_endpoint"))
    if is_int(devices) and is_int(nodes) and is_int(cfg.get("batch_size")) and devices * nodes > 1 \
            and cfg.batch_size % (devices * nodes):
        world = devices * nodes
        found.append(f"batch_size={cfg.batch_size} is the global batch and must divide evenly among the {world} "
                     f"training processes: use a multiple of {world}.")
    if trainer.get("sync_batchnorm") is True and str(trainer.get("device")) in ("cpu", "mps"):
        found.append("trainer.sync_batchnorm=true needs CUDA: torch's SyncBatchNorm runs on GPUs only; "
                     "on the CPU leave it false (each process keeps its own BatchNorm statistics).")
    swa_start, epochs = lookup(cfg, "trainer.swa.start_epoch"), cfg.get("epochs")
    if is_int(swa_start) and is_int(epochs) and swa_start > epochs:
        found.append(f"trainer.swa.start_epoch={swa_start} is after the last epoch (epochs={epochs}): "
                     "averaging would never start.")
    if lookup(cfg, "trainer.ema.evaluate") is True and lookup(cfg, "trainer.ema.decay") is None:
        found.append("trainer.ema.evaluate=true needs an EMA: set trainer.ema.decay (e.g. 0.9998).")
    if str(trainer.get("precision")) == "16" and str(trainer.get("device")) in ("cpu", "mps"):
        found.append("trainer.precision=16 (float16 with a gradient scaler) needs a CUDA device; "
                     "on the CPU use trainer.precision=bf16.")
    return found
