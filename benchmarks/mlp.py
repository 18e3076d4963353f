"""How much does the book's training loop add to a bare loop, for the MNIST chapter's MLP?

Run with `make bench` (needs the datasets: see README). One epoch of the MNIST chapter's
reference recipe (784-512-256-128-64-10, SGD lr 0.01 momentum 0.5, batch 64) through the
same `TensorLoader`, timed in the same run for:

- a bare loop that accumulates nothing (forward, backward, step);
- `train.train_epoch`: per-sample loss and accuracy kept on the device, a non-finite loss
  watched on the device, nothing read back until the epoch ends.

Targets: `train_epoch` at most 2 % over the bare loop, with 1 and with 2 threads on the
CPU (and on CUDA, `--device cuda`, where reading a value back after every step would make
the GPU wait), and never slower than the usual loop that calls `loss.item()` after every
step (the third line), each judged by a paired comparison over the rounds (see
`measure`). Exits 1 when a target is missed. Best on an otherwise idle machine.
"""

import argparse
import statistics
import sys
import time

import torch
from torch import nn

from lossbook import data, models, runtime, train

BATCH_SIZE, LR, MOMENTUM, ROUNDS = 64, 0.01, 0.5, 5


def new_model(device):
    """A freshly initialised model, its optimizer and its loss, on `device`."""
    runtime.set_seed(0)
    model = models.mlp().to(device)
    return model, torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM), nn.CrossEntropyLoss()


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(train_loader, device) -> float:
    """Forward, backward and step for every batch: nothing kept, nothing read."""
    model, optimizer, loss_fn = new_model(device)
    model.train()
    synchronize(device)
    start = time.perf_counter()
    for X, y in train_loader:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - start


def item_loop(train_loader, device) -> float:
    """The usual hand-written loop: `running += loss.item() * len(y)` after every step."""
    model, optimizer, loss_fn = new_model(device)
    model.train()
    synchronize(device)
    start, running = time.perf_counter(), 0.0
    for X, y in train_loader:
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.item() * len(y)
    synchronize(device)
    assert running > 0
    return time.perf_counter() - start


def book_loop(train_loader, device) -> float:
    """One epoch through `train.train_epoch`, as the MNIST chapter and the runner train."""
    model, optimizer, loss_fn = new_model(device)
    synchronize(device)
    start = time.perf_counter()
    result = train.train_epoch(model, train_loader, loss_fn, optimizer)
    synchronize(device)
    assert result["loss"] > 0
    return time.perf_counter() - start


TARGET = 1.02
LOOPS = {"bare loop (accumulates nothing)": bare_loop, "train.train_epoch": book_loop,
         "loop with loss.item() per step": item_loop}


def measure(train_loader, device) -> bool:
    """Time the loops in alternation, print the ratios; True when the targets are met.

    Both targets are paired comparisons with their uncertainty, as chapter 8 teaches: each
    round times the loops back to back, and a target is missed only when `train_epoch`'s
    per-round excess is above it by more than two standard errors (on a shared machine,
    single timings move by a few per cent; a difference inside that noise is not one).
    """
    times = {name: [] for name in LOOPS}
    book_loop(train_loader, device)  # warm-up: allocator, kernels, caches
    for _ in range(ROUNDS):
        for name, loop in LOOPS.items():
            times[name].append(loop(train_loader, device))
    best = {name: min(seconds) for name, seconds in times.items()}
    bare = best["bare loop (accumulates nothing)"]
    print(f"MLP epoch on MNIST, {len(train_loader)} steps of {BATCH_SIZE}, on {device} "
          f"({torch.get_num_threads()} threads), best of {ROUNDS}:")
    for name, seconds in best.items():
        print(f"  {name:34} {seconds:6.2f} s   ratio to the bare loop {seconds / bare:.3f}")
    over_bare = _paired(times["train.train_epoch"], times["bare loop (accumulates nothing)"])
    over_item = _paired(times["train.train_epoch"], times["loop with loss.item() per step"])
    above_target = over_bare[0] - over_bare[1] > TARGET - 1
    slower = over_item[0] - over_item[1] > 0
    print(f"train.train_epoch, round by round: {over_bare[0]:+.2%} ± {over_bare[1]:.2%} over the bare loop "
          f"(target: <= {TARGET - 1:+.0%}), {over_item[0]:+.2%} ± {over_item[1]:.2%} over the .item() loop "
          f"(target: not slower)")
    met = not above_target and not slower
    print("targets " + ("met" if met else "MISSED"))
    return met


def _paired(ours: list[float], theirs: list[float]) -> tuple[float, float]:
    """The mean relative excess of `ours` over `theirs`, round by round, and two standard errors."""
    excess = [a / b - 1 for a, b in zip(ours, theirs, strict=True)]
    return statistics.fmean(excess), 2 * statistics.stdev(excess) / len(excess) ** 0.5


def main() -> int:
    """Measure with 1 and 2 threads on the CPU (or on CUDA); exit code 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=str(runtime.device()), help="default: the best available")
    device = torch.device(parser.parse_args().device)
    X, y = data.as_tensors(data.mnist(train=True), normalize=data.MNIST_MEAN_STD)
    train_loader = data.TensorLoader(X.to(device), y.to(device), BATCH_SIZE, shuffle=True,
                                     generator=torch.Generator().manual_seed(0))
    met = True
    for threads in (1, 2) if device.type == "cpu" else (torch.get_num_threads(),):
        torch.set_num_threads(threads)
        met = measure(train_loader, device) and met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
