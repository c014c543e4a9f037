"""`dlrun serve RUN`: the run's best checkpoint behind an HTTP JSON API (FastAPI on uvicorn) with
dynamic batching, its OpenAPI docs at /docs and a page to try it at /. See dlrun.serve."""

import argparse
import os
import sys

from dlrun.commands import add_trust_option, need_extra, positive
from dlrun.errors import DlrunError

HELP = "serve a run's best checkpoint over HTTP: POST /predict, GET /metadata, a page at /"
ENVIRONMENT = "DLRUN_SERVE_ARGS"  # the arguments, for each worker process (--workers > 1)


def add_arguments(parser) -> None:
    parser.add_argument("run", help="a run directory")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=positive(int), default=8000, help="port (default 8000)")
    parser.add_argument(
        "--max-batch-size",
        type=positive(int),
        default=32,
        help="inputs batched per model call (default 32; 1: no batching)",
    )
    parser.add_argument(
        "--batch-timeout-ms",
        type=float,
        default=5.0,
        help="how long a batch waits for more inputs after its first (default 5 ms)",
    )
    parser.add_argument("--max-upload-mb", type=positive(float), default=20.0, help="largest request body (default 20)")
    parser.add_argument(
        "--workers", type=positive(int), default=1, help="server processes, each with the model (default 1)"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    parser.add_argument("--checkpoint", default="best", help="best (default) or last")
    parser.add_argument(
        "--access-log", action=argparse.BooleanOptionalAction, default=True, help="a line per request (default on)"
    )
    add_trust_option(parser)


def main(args) -> int:
    need_extra("dlrun serve", {"fastapi": "fastapi", "uvicorn": "uvicorn", "multipart": "python-multipart"}, "serve")
    if args.port > 65535:
        raise DlrunError(f"--port {args.port}: give 1 to 65535.")
    if args.batch_timeout_ms < 0:
        raise DlrunError(f"--batch-timeout-ms {args.batch_timeout_ms:g}: give 0 or more.")
    from dlrun.runs.saved_run import load_run

    load_run(args.run, args.checkpoint, args.trust)  # refuses an untrusted config before torch loads
    check_port(args.host, args.port)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"note: listening on {args.host}: anyone who can reach this machine there can call the model "
            "(no authentication; put it behind a proxy that has some for a shared network)",
            file=sys.stderr,
        )

    import uvicorn

    options = {"host": args.host, "port": args.port, "access_log": args.access_log, "log_level": "info"}
    if args.workers > 1:  # each worker process builds its own app (and model) from the arguments
        import json

        os.environ[ENVIRONMENT] = json.dumps(vars(args))
        print(
            f"serving {args.run} in {args.workers} worker processes at http://{args.host}:{args.port}  "
            "(page: /, API docs: /docs)",
            file=sys.stderr,
        )
        uvicorn.run("dlrun.commands.serve:worker_app", factory=True, workers=args.workers, **options)
    else:
        uvicorn.run(build_app(args, announce=True), **options)
    return 0


def worker_app():
    import json

    return build_app(argparse.Namespace(**json.loads(os.environ[ENVIRONMENT])))


def build_app(args, announce: bool = False):
    from dlrun.engine.device import select_device
    from dlrun.runs.saved_run import load_run
    from dlrun.serve.app import create_app
    from dlrun.serve.predictor import Predictor

    run = load_run(args.run, args.checkpoint, args.trust)
    predictor = Predictor(run, select_device(args.device))
    if announce:
        print(
            f"serving {run.path.name} ({run.info.task}, model={run.cfg.model.name}, {args.checkpoint} checkpoint of "
            f"epoch {run.checkpoint['epoch']}) on {predictor.device} at http://{args.host}:{args.port}  "
            f"(page: /, API docs: /docs; batches of up to {args.max_batch_size}, {args.batch_timeout_ms:g} ms)",
            file=sys.stderr,
        )
    return create_app(predictor, args.max_batch_size, args.batch_timeout_ms, args.max_upload_mb)


def check_port(host: str, port: int) -> None:
    """The address is free to listen on: said now, not after the model has loaded."""
    import socket

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as err:
        raise DlrunError(
            f"cannot listen on {host}:{port} ({err.strerror or err}): choose another --port or --host."
        ) from err
