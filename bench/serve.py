"""`dlrun serve` under load, with dynamic batching on and off (batch size 1), the same model.

A resnet18 run (torchvision, no pretrained weights: the weights do not change the time) trained
one epoch on a generated folder of 64x64 RGB PNGs, served on 127.0.0.1 with the access log off;
N concurrent clients (aiohttp, in this process) each post M real PNG files (multipart, one
image per request) one after another. Reported per server: throughput, latency p50/p95/p99,
errors, the server's RSS after a warm-up and after the load.

    python bench/serve.py [--clients 32] [--requests 100] [--model resnet18]
"""

import argparse
import asyncio
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

DLRUN = str(Path(sys.executable).parent / "dlrun")
QUIET = ["logger=none", "trainer.progress=none", "trainer=cpu"]


def image_folder(root: Path, classes: int = 4, per_class: int = 12, size: int = 64) -> list[bytes]:
    """Generated images, one subfolder per class; the PNG files' bytes (the requests' bodies)."""
    rng = np.random.default_rng(0)
    files = []
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(per_class):
            pixels = (rng.random((size, size, 3)) * 80 + c * 40).astype(np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="PNG")
            (root / f"class{c}" / f"{i}.png").write_bytes(buffer.getvalue())
            files.append(buffer.getvalue())
    return files


def train(folder: Path, model: str) -> Path:
    done = subprocess.run(
        [DLRUN, "dataset=image_folder", "dataset.root=images", f"model={model}", "epochs=1"] + QUIET,
        cwd=folder,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return next((folder / "outputs" / "runs").iterdir())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


async def load(url: str, files: list[bytes], clients: int, requests: int) -> tuple[list[float], int, float]:
    """(latencies in s, errors, seconds in all) of `clients` clients x `requests` posts each."""
    import aiohttp

    latencies, errors = [], 0

    async def client(session, number):
        nonlocal errors
        for i in range(requests):
            form = aiohttp.FormData()
            form.add_field(
                "file", files[(number * requests + i) % len(files)], filename="x.png", content_type="image/png"
            )
            started = time.perf_counter()
            async with session.post(url, data=form) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session, n) for n in range(clients)))
        return latencies, errors, time.perf_counter() - started


def serve(run: Path, files: list[bytes], batch: int, clients: int, requests: int) -> dict:
    import requests as http

    port = free_port()
    server = subprocess.Popen(
        [DLRUN, "serve", str(run), "--port", str(port), "--max-batch-size", str(batch), "--no-access-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if http.get(f"{base}/health", timeout=1).ok:
                    break
            except http.ConnectionError:
                time.sleep(0.1)
        asyncio.run(load(f"{base}/predict", files, clients, 5))  # warm-up
        before = rss_mb(server.pid)
        latencies, errors, seconds = asyncio.run(load(f"{base}/predict", files, clients, requests))
        after = rss_mb(server.pid)
        health = http.get(f"{base}/health").json()
    finally:
        server.terminate()
        server.wait(30)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "max batch": batch,
        "requests/s": len(latencies) / seconds,
        "p50 ms": 1000 * statistics.median(latencies),
        "p95 ms": 1000 * cuts[94],
        "p99 ms": 1000 * cuts[98],
        "errors": errors,
        "mean batch": health["inputs"] / max(1, health["batches"]),
        "RSS MB": before,
        "growth MB": after - before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=100, help="per client")
    parser.add_argument("--model", default="resnet18")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = image_folder(folder / "images")
        run = train(folder, args.model)
        results = [serve(run, files, batch, args.clients, args.requests) for batch in (32, 1)]
    print(
        f"dlrun serve, model={args.model} on 64x64 PNGs, {args.clients} clients x {args.requests} requests, "
        f"{os.cpu_count()} CPU cores\n"
    )
    print("| " + " | ".join(results[0]) + " |")
    print("|" + "---|" * len(results[0]))
    for row in results:
        print("| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    print(
        f"\ndynamic batching: {results[0]['requests/s'] / results[1]['requests/s']:.2f}x the throughput of batch size 1"
    )


if __name__ == "__main__":
    main()
