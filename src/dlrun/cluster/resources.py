"""The `hydra/launcher=slurm` preset's values, checked and completed before anything is
submitted. `auto` follows the trainer: one SLURM task per node (trainer.num_nodes), each
starting trainer.devices processes with their GPUs and CPUs."""

import re
import subprocess

from dlrun.errors import DlrunError

WHOLE = {
    "timeout_min": 1,
    "tasks_per_node": 1,
    "mem_gb": 1,
    "array_parallelism": 1,
    "signal_delay_s": 0,
    "max_num_timeout": 0,
    "nodes": 1,
    "gpus_per_node": 0,
    "cpus_per_task": 1,
}  # key: smallest value
TEXT = ("partition", "account", "qos", "comment", "constraint", "exclude", "gres", "mem_per_gpu", "mem_per_cpu")
AUTO = ("nodes", "gpus_per_node", "cpus_per_task")
CPUS_PER_PROCESS = 4  # the training process and three DataLoader workers, unless loader.num_workers says


def slurm_parameters(params: dict, config) -> dict:
    """submitit's parameters for every job of a sweep, from the preset's keys (all checked at
    once) and the composed config's trainer and loader."""
    problems = value_problems(params)
    if problems:
        raise DlrunError("hydra/launcher=slurm: " + " ".join(problems))
    trainer, loader = config.trainer, config.get("loader", {})
    nodes_wanted = trainer.get("num_nodes", 1) if isinstance(trainer.get("num_nodes", 1), int) else 1
    out = {k: v for k, v in params.items() if v is not None and v != "auto"}
    if params.get("nodes") == "auto":
        out["nodes"] = nodes_wanted
    tasks = out["nodes"] * out.get("tasks_per_node", 1)
    if tasks != nodes_wanted:
        raise DlrunError(
            f"hydra/launcher=slurm: {out['nodes']} node(s) x {out.get('tasks_per_node', 1)} task(s) per "
            f"node = {tasks} tasks, but trainer.num_nodes={nodes_wanted}. dlrun runs one task per node, "
            "each starting trainer.devices processes: make the tasks equal trainer.num_nodes."
        )
    node_cpus, node_gpus = partition_shape(params.get("partition"))
    on_gpu = not str(trainer.get("device", "auto")).startswith(("cpu", "mps"))
    devices = trainer.get("devices", 1)
    if params.get("gpus_per_node") == "auto" and on_gpu and node_gpus != 0:
        if devices == "auto":
            out["gpus_per_node"] = node_gpus or 1
        else:
            out["gpus_per_node"] = devices * out.get("tasks_per_node", 1)
    if params.get("cpus_per_task") == "auto":
        processes = devices if isinstance(devices, int) else (out.get("gpus_per_node") or 1)
        workers = loader.get("num_workers", "auto")
        per_process = workers + 1 if isinstance(workers, int) and not isinstance(workers, bool) else CPUS_PER_PROCESS
        cpus = processes * per_process
        if node_cpus:
            cpus = min(cpus, max(1, node_cpus // out.get("tasks_per_node", 1)))
        out["cpus_per_task"] = cpus
    return out


def value_problems(params: dict) -> list[str]:
    found = []
    for key, least in WHOLE.items():
        value = params.get(key)
        if value is None or (value == "auto" and key in AUTO):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            valid = (
                f"a whole number >= {least}"
                + (", or auto" if key in AUTO else "")
                + (", or null" if key in ("mem_gb", "gpus_per_node", "cpus_per_task") else "")
            )
            found.append(f"hydra.launcher.{key}={value!r} is not valid: use {valid}.")
    for key in TEXT:
        value = params.get(key)
        if value is not None and not isinstance(value, str):
            found.append(f"hydra.launcher.{key}={value!r} must be text (or null).")
    extra = params.get("additional_parameters")
    if extra is not None and not isinstance(extra, dict):
        found.append(
            "hydra.launcher.additional_parameters must be a mapping of sbatch options, e.g. "
            "'{constraint: a100, mail-type: END}'."
        )
    setup = params.get("setup")
    if setup is not None and (not isinstance(setup, list) or not all(isinstance(line, str) for line in setup)):
        found.append("hydra.launcher.setup must be a list of shell lines, e.g. '[\"module load cuda\"]'.")
    return found


def partition_shape(partition: str | None) -> tuple[int | None, int | None]:
    """(CPUs, GPUs) of the smallest node of the partition (the default one when None), from
    sinfo; None where SLURM does not say."""
    command = ["sinfo", "-h", "-o", "%c %G"] + (["-p", partition] if partition else [])
    try:
        listing = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return shape_from_sinfo(listing)


def shape_from_sinfo(listing: str) -> tuple[int | None, int | None]:
    """`sinfo -o "%c %G"` lines (`64 gpu:a100:8(S:0-1)`, `2 (null)`) -> the smallest node's (CPUs, GPUs)."""
    cpus, gpus = [], []
    for line in filter(None, (line.strip() for line in listing.splitlines())):
        count, _, gres = line.partition(" ")
        if count.rstrip("+").isdigit():
            cpus.append(int(count.rstrip("+")))
        found = re.findall(r"gpu(?::[^:,()]+)?:(\d+)", gres)
        gpus.append(sum(map(int, found)))
    return (min(cpus) if cpus else None), (min(gpus) if gpus else None)
