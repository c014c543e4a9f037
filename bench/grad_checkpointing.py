"""Activation checkpointing (`model.grad_checkpointing=true`): peak memory and step time of
training steps with and without, the same model, batch and data.

Each side is a fresh process: dlrun builds the model from its config (torchvision's resnet50 on
128x128 RGB inputs, 10 classes, by default), trains `--steps` SGD steps on a fixed random batch,
and reports the peak resident memory over those steps above what the process held before them
(Linux's VmHWM, reset before the first step; on CUDA torch.cuda.max_memory_allocated) and the
median step time after the first.

    python bench/grad_checkpointing.py [--model resnet50] [--batch 32] [--size 128] [--steps 5]
"""

import argparse
import json
import statistics
import subprocess
import sys

ONE_SIDE = r"""
import json, sys, time
import torch
from dlrun import models
from dlrun.config.choices import compose
from dlrun.datasets.info import DataInfo
from dlrun.engine.throughput import peak_memory_mb, reset_peak_memory

model_name, batch, size, steps, checkpointing = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
cfg = compose([f"model={model_name}", f"model.grad_checkpointing={checkpointing}", "logger=none"])
info = DataInfo(task="classification", input_shape=(3, size, size), num_outputs=10, class_names=[str(i) for i in range(10)])
said = []
model = models.build(cfg.model, info, say=said.append).to(device).train()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(batch, 3, size, size, device=device), torch.randint(0, 10, (batch,), device=device)
baseline = peak_memory_mb(device) if device.type == "cuda" else None
reset_peak_memory(device)
start_rss = peak_memory_mb(device)
times, losses = [], []
for _ in range(steps):
    began = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())  # a sync: the step has finished
    times.append(time.perf_counter() - began)
print(json.dumps({"peak_mb": peak_memory_mb(device) - start_rss, "step_s": times[1:], "losses": losses, "said": said,
                  "device": str(device)}))
"""


def side(args, checkpointing: bool) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", ONE_SIDE, args.model, str(args.batch), str(args.size), str(args.steps),
         str(checkpointing).lower()],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    off, on = side(args, False), side(args, True)
    print(
        f"model={args.model}, batch {args.batch} of 3x{args.size}x{args.size}, {args.steps} SGD steps, {on['device']}"
    )
    print(f"checkpointed: {on['said'][-1] if on['said'] else '?'}\n")
    print("| model.grad_checkpointing | peak memory of the steps | step time (median) |")
    print("|---|---|---|")
    for name, result in (("false", off), ("true", on)):
        print(f"| {name} | {result['peak_mb']:,.0f} MB | {statistics.median(result['step_s']):.3f} s |")
    difference = max(abs(a - b) for a, b in zip(off["losses"], on["losses"]))
    print(
        f"\n{on['peak_mb'] / off['peak_mb']:.2f}x the memory, "
        f"{statistics.median(on['step_s']) / statistics.median(off['step_s']):.2f}x the time; "
        f"losses differ by at most {difference:.1e}"
    )


if __name__ == "__main__":
    main()
