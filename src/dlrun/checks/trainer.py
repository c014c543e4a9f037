"""trainer.* and the top-level knobs (lr, batch_size, epochs, seed)."""

import re

from dlrun.checks.values import apply, boolean, is_int, is_number, lookup, number, one_of, whole
from dlrun.cluster import slurm_env

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
# Said before torch where the config shows it, and by the code that finds it at run time
# (trainer.device=auto on a machine without CUDA, trainer.devices=auto on N GPUs).
FP16_NEEDS_CUDA = (
    "trainer.precision=16 (float16 with a gradient scaler) needs a CUDA device; on the CPU use trainer.precision=bf16."
)
SYNC_BATCHNORM_NEEDS_CUDA = (
    "trainer.sync_batchnorm=true needs CUDA: torch's SyncBatchNorm runs on GPUs only; "
    "on the CPU leave it false (each process keeps its own BatchNorm statistics)."
)


def global_batch_problem(batch_size: int, world: int) -> str | None:
    """batch_size is the global batch: it must divide among the processes."""
    if batch_size % world == 0:
        return None
    return (
        f"batch_size={batch_size} is the global batch and must divide evenly among the {world} training "
        f"processes: use a multiple of {world}, e.g. batch_size={batch_size // world * world or world}."
    )


def batches_limit(v) -> bool:
    return v is None or (is_int(v) and v >= 1) or (isinstance(v, float) and 0 < v <= 1)


RULES = [
    (
        "trainer.device",
        lambda v: isinstance(v, str) and bool(DEVICE_PATTERN.match(v)),
        "auto, cpu, cuda, cuda:N or mps",
    ),
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
    ("trainer.max_memory_gb", lambda v: v is None or (is_number(v) and v > 0), "null or a number of GB > 0"),
    ("trainer.profiler", one_of("simple", "torch", allow_none=True), "null, simple or torch"),
    ("trainer.profile.wait", whole(0), "a whole number of steps >= 0"),
    ("trainer.profile.warmup", whole(0), "a whole number of steps >= 0"),
    ("trainer.profile.active", whole(1), "a whole number of steps >= 1"),
    ("trainer.profile.repeat", whole(1), "a whole number of cycles >= 1"),
    ("trainer.profile.record_shapes", boolean, "true or false"),
    ("trainer.profile.profile_memory", boolean, "true or false"),
    ("trainer.profile.with_stack", boolean, "true or false"),
    ("trainer.save_top_k", whole(1), "a whole number >= 1"),
    ("trainer.checkpoint_every_n_steps", whole(1, allow_none=True), "a whole number of steps >= 1 or null"),
    ("trainer.early_stopping.patience", whole(1, allow_none=True), "a whole number of validations >= 1 or null"),
    ("trainer.early_stopping.min_delta", number(0, allow_none=True), "a number >= 0"),
    (
        "trainer.ema.decay",
        number(0, 1, low_open=True, high_open=True, allow_none=True),
        "null or a number with 0 < decay < 1, e.g. 0.9998",
    ),
    ("trainer.ema.every_n_steps", whole(1), "a whole number of optimizer steps >= 1"),
    ("trainer.ema.warmup_steps", whole(0), "a whole number of optimizer steps >= 0"),
    ("trainer.ema.evaluate", boolean, "true or false"),
    ("trainer.swa.start_epoch", whole(1, allow_none=True), "null or an epoch >= 1"),
    ("trainer.swa.lr", number(0, low_open=True, allow_none=True), "null or a learning rate > 0"),
    ("trainer.swa.anneal_epochs", whole(0), "a whole number of epochs >= 0"),
    ("trainer.sync_batchnorm", boolean, "true or false"),
    ("trainer.progress", one_of("auto", "bar", "lines", "none"), "auto, bar, lines or none"),
    ("trainer.print_config", one_of("full", "short", "none"), "full (the whole tree), short (a few lines) or none"),
    ("trainer.mode", one_of("auto", "min", "max"), "auto, min or max"),
    (
        "trainer.monitor",
        lambda v: v == "auto" or (isinstance(v, str) and v.startswith(("val/", "train/"))),
        "auto or a metric such as val/acc, val/f1, val/loss",
    ),
]


def top_level_problems(cfg) -> list[str]:
    found = []
    lr = cfg.get("lr")
    if not is_number(lr) or not lr > 0:
        found.append(f"lr={lr!r} is not a positive number: use e.g. lr=1e-3.")
    for key, example in (("batch_size", 64), ("epochs", 10)):
        value = cfg.get(key)
        if key == "batch_size" and value == "auto":  # the largest that fits: dlrun.training.batch_size
            continue
        if not is_int(value) or value < 1:
            also = " or auto (the largest that fits)" if key == "batch_size" else ""
            found.append(f"{key}={value!r} must be a whole number >= 1{also}, e.g. {key}={example}.")
    seed = cfg.get("seed")
    if not is_int(seed) or not 0 <= seed < 2**32:
        found.append(f"seed={seed!r} must be a whole number from 0 to 2**32-1, e.g. seed=0.")
    return found


def auto_batch_problems(cfg, devices, nodes) -> list[str]:
    """batch_size=auto: one process; on the CPU (named) a memory budget."""
    found = []
    if (is_int(devices) and devices > 1) or (is_int(nodes) and nodes > 1) or devices == "auto":
        found.append(
            f"batch_size=auto searches one process's batch, not with trainer.devices={devices} "
            f"trainer.num_nodes={nodes}: find it with one process (dlrun batch_size=auto trainer.devices=1 "
            "trainer.max_epochs=1 ...: config.yaml records it) and give the number times the processes."
        )
    if str(cfg.trainer.get("device")) == "cpu" and cfg.trainer.get("max_memory_gb") is None:
        found.append(
            "batch_size=auto on the CPU needs trainer.max_memory_gb: the memory the run may use (e.g. "
            "trainer.max_memory_gb=8), as the CPU has no out-of-memory error to back off from."
        )
    return found


def trainer_problems(cfg) -> list[str]:
    found = apply(cfg, RULES)
    trainer = cfg.trainer
    devices, nodes = trainer.get("devices", 1), trainer.get("num_nodes", 1)
    found += topology_problems(devices, nodes, trainer.get("rdzv_endpoint"))
    if (
        is_int(devices)
        and is_int(nodes)
        and devices >= 1
        and nodes >= 1
        and is_int(cfg.get("batch_size"))
        and cfg.batch_size >= 1
        and (problem := global_batch_problem(cfg.batch_size, devices * nodes))
    ):
        found.append(problem)
    if cfg.get("batch_size") == "auto":
        found += auto_batch_problems(cfg, devices, nodes)
    if trainer.get("sync_batchnorm") is True and str(trainer.get("device")) in ("cpu", "mps"):
        found.append(SYNC_BATCHNORM_NEEDS_CUDA)
    swa_start, epochs, max_epochs = lookup(cfg, "trainer.swa.start_epoch"), cfg.get("epochs"), trainer.get("max_epochs")
    last = min(epochs, max_epochs) if is_int(epochs) and is_int(max_epochs) else epochs
    if is_int(swa_start) and is_int(last) and swa_start > last:
        said = f"epochs={epochs}" + (f", trainer.max_epochs={max_epochs}" if last != epochs else "")
        found.append(
            f"trainer.swa.start_epoch={swa_start} is after the last epoch ({said}): averaging would never start."
        )
    if lookup(cfg, "trainer.ema.evaluate") is True and lookup(cfg, "trainer.ema.decay") is None:
        found.append("trainer.ema.evaluate=true needs an EMA: set trainer.ema.decay (e.g. 0.9998).")
    if str(trainer.get("precision")) == "16" and str(trainer.get("device")) in ("cpu", "mps"):
        found.append(FP16_NEEDS_CUDA)
    return found


def topology_problems(devices, nodes, endpoint) -> list[str]:
    """trainer.devices, trainer.num_nodes and trainer.rdzv_endpoint (and, for several nodes
    without an endpoint, the SLURM job step this runs in)."""
    found = []
    if devices != "auto" and (isinstance(devices, bool) or not isinstance(devices, int) or devices < 1):
        found.append(f"trainer.devices={devices!r} must be auto or a whole number >= 1 (processes on this machine).")
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        found.append(f"trainer.num_nodes={nodes!r} must be a whole number >= 1.")
    elif nodes > 1 and not endpoint and (problem := slurm_env.node_problem(nodes)):
        found.append(problem)
    if endpoint is not None and (
        not isinstance(endpoint, str) or ":" not in endpoint or not endpoint.rsplit(":", 1)[1].isdigit()
    ):
        found.append(f"trainer.rdzv_endpoint={endpoint!r} must be HOST:PORT, e.g. 10.0.0.1:29400.")
    return found
