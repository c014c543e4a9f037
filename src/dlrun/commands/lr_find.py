"""`dlrun lr-find [overrides]`: a learning-rate range test on the composed run (its data,
model, loss and optimizer); prints the suggested rate and the command that uses it, and writes
the curve (lr_find.png, lr_find.csv)."""

from datetime import datetime
from pathlib import Path

from dlrun.errors import DlrunError

HELP = "find a learning rate: a range test on the run the overrides compose"


def add_arguments(parser) -> None:
    parser.add_argument("overrides", nargs="*", help="the run, as for training: model=resnet18 optimizer=sgd ...")
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps of the test (default 100)")
    parser.add_argument("--min-lr", type=float, default=1e-7, help="the first rate (default 1e-7)")
    parser.add_argument("--max-lr", type=float, default=10.0, help="the last rate (default 10)")
    parser.add_argument(
        "--output", "-o", help="folder for lr_find.png and lr_find.csv (default: outputs/lr_find/<time>)"
    )


def main(args) -> int:
    from dlrun.checks import validate
    from dlrun.config.choices import check_group_choices, compose

    if args.steps < 20:
        raise DlrunError(f"--steps {args.steps} is too few: use 20 or more (100 is usual).")
    if not 0 < args.min_lr < args.max_lr:
        raise DlrunError(f"--min-lr {args.min_lr:g} and --max-lr {args.max_lr:g}: use 0 < min-lr < max-lr.")
    check_group_choices(args.overrides)
    cfg = compose(args.overrides)
    validate(cfg)

    from dlrun.engine.device import select_device
    from dlrun.run.build import build_training
    from dlrun.training.lr_find import range_test, write_curve
    from dlrun.training.seeding import seed_everything

    seed_everything(cfg.seed)
    device = select_device(cfg.trainer.device)
    built = build_training(cfg, device)
    result = range_test(
        built.model,
        built.loaders["train"],
        built.criterion,
        built.optimizer,
        device,
        low=args.min_lr,
        high=args.max_lr,
        steps=args.steps,
    )
    suggested = result.suggestion()
    folder = Path(args.output or Path("outputs") / "lr_find" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S.%f"))
    table, picture = write_curve(result, folder, suggested)
    end = (
        f"stopped at {result.rates[-1]:.2g}, where the loss diverged"
        if result.stopped_early
        else f"up to {result.rates[-1]:.2g}"
    )
    print(f"lr-find: {len(result.rates)} steps from {args.min_lr:g}, {end}")
    if suggested is None:
        raise DlrunError(
            f"the loss diverged after {len(result.rates)} steps, too few to suggest a rate: "
            f"lower --max-lr or raise --steps. The curve is in {picture}."
        )
    rate = float(f"{suggested:.2g}")
    print(f"suggested lr: {rate:g} (the middle of the training loss's steepest descent)")
    print("train with it: dlrun " + " ".join([*(o for o in args.overrides if not o.startswith("lr=")), f"lr={rate:g}"]))
    print(f"wrote {picture} and {table}")
    return 0
