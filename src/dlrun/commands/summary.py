"""`dlrun summary [overrides]`: the model the overrides compose, for the data they compose: its
layers with their output shapes, parameters, FLOPs per sample and the memory a training step
needs at the run's batch size. Nothing trains; no pretrained weights are fetched."""

from dlrun.errors import plural

HELP = "the model of the run the overrides compose: layers, output shapes, parameters, FLOPs, memory"


def add_arguments(parser) -> None:
    parser.add_argument("overrides", nargs="*", help="the run, as for training: model=resnet50 dataset=cifar10 ...")
    parser.add_argument("--depth", type=int, default=2, help="module nesting shown (default 2; 0: the model alone)")


def main(args) -> int:
    from dlrun.checks import validate
    from dlrun.config.choices import check_group_choices, compose
    from dlrun.errors import DlrunError

    if args.depth < 0:
        raise DlrunError(f"--depth {args.depth}: give 0 or more.")
    check_group_choices(args.overrides)
    cfg = compose(args.overrides)
    validate(cfg)

    import torch

    from dlrun import datasets, models
    from dlrun.models.summary import summarize, training_memory
    from dlrun.run.build import build_or_explain
    from dlrun.training.seeding import seed_everything

    seed_everything(cfg.seed)
    cpu = torch.device("cpu")
    loaders, info = build_or_explain(
        "dataset",
        cfg.dataset.name,
        lambda: datasets.build(cfg.dataset, cfg.loader, seed=cfg.seed, batch_size=2, device=cpu),
    )
    model = models.build(cfg.model, info, load_weights=False)  # the architecture; its weights do not matter here
    inputs, targets = next(iter(loaders["val"]))  # two samples, as evaluation prepares them
    found = summarize(model, inputs, len(targets), args.depth)
    show(found, cfg, info)
    optimizer = str(cfg.optimizer.get("_target_") or "adam").rsplit(".", 1)[-1].lower()  # torch.optim.Adam: adam
    batch = 64 if cfg.batch_size == "auto" else int(cfg.batch_size)  # auto: found when the run starts
    memory = training_memory(found, batch, optimizer)
    print(f"parameters: {found.total:,} ({found.trainable:,} trainable)")
    print(f"FLOPs per sample (forward): {flops(found.flops_per_sample)}; a training step ~3x that")
    said = f"batch_size={batch}" + (
        " (batch_size=auto is searched when the run starts)" if batch != cfg.batch_size else ""
    )
    print(f"memory of a training step at {said} (float32):")
    for name, size in memory.items():
        print(f"  {name:<40} {megabytes(size)}")
    print(f"  {'total':<40} {megabytes(sum(memory.values()))}")
    return 0


def show(found, cfg, info) -> None:
    from rich.table import Table

    from dlrun.engine.console import table_console

    shape = "x".join(str(d) for d in info.input_shape)
    table = Table(
        title=f"model={cfg.model.name} for {cfg.dataset.name} (input {shape}, {plural(info.num_outputs, 'output')})"
    )
    table.add_column("layer")
    table.add_column("type")
    table.add_column("output", justify="right")
    table.add_column("parameters", justify="right")
    for layer in found.layers:
        table.add_row("  " * max(0, layer.depth - 1) + layer.name, layer.kind, layer.shape, f"{layer.parameters:,}")
    table_console().print(table)


def flops(value: float) -> str:
    for unit, size in (("GFLOPs", 1e9), ("MFLOPs", 1e6), ("kFLOPs", 1e3)):
        if value >= size:
            return f"{value / size:,.2f} {unit} ({value:,.0f})"
    return f"{value:,.0f}"


def megabytes(size: float) -> str:
    return f"{size / 2**20:,.1f} MB"
