"""How much does the book's training loop add to a bare loop, for the MNIST chapter's MLP?

Run with `make bench` (needs the datasets: see README). One epoch of the MNIST chapter's
reference recipe (784-512-256-128-64-10, SGD lr 0.01 momentum 0.5, batch 64) through the
same `TensorLoader`, timed in the same run for:

- a bare loop that accumulates nothing (forward, backward, step);
- `train.train_epoch`: per-sample loss and accuracy kept on the device, a non-finite loss
  watched on the device, nothing read back until the epoch ends.

Target: `train_epoch` / bare loop <= 1.03 on the CPU, <= 1.05 on CUDA, where reading a
value back after every step (`.item()`) would make the GPU wait; the third line shows what
such a loop costs. Runs on CUDA too when it is there (`--device cuda`, the default then).
The timings alternate the loops over several rounds and keep each one's best.
"""

import argparse
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


def main() -> None:
    """Time the loops in alternation and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=str(runtime.device()), help="default: the best available")
    device = torch.device(parser.parse_args().device)
    X, y = data.as_tensors(data.mnist(train=True), normalize=data.MNIST_MEAN_STD)
    train_loader = data.TensorLoader(X.to(device), y.to(device), BATCH_SIZE, shuffle=True,
                                     generator=torch.Generator().manual_seed(0))
    loops = {"bare loop (accumulates nothing)": bare_loop, "train.train_epoch": book_loop,
             "loop with loss.item() per step": item_loop}
    best = dict.fromkeys(loops, float("inf"))
    book_loop(train_loader, device)  # warm-up: allocator, kernels, caches
    for _ in range(ROUNDS):
        for name, loop in loops.items():
            best[name] = min(best[name], loop(train_loader, device))
    bare = best["bare loop (accumulates nothing)"]
    target = 1.05 if device.type == "cuda" else 1.03
    print(f"MLP epoch on MNIST, {len(train_loader)} steps of {BATCH_SIZE}, on {device} "
          f"({torch.get_num_threads()} threads), best of {ROUNDS}:")
    for name, seconds in best.items():
        print(f"  {name:34} {seconds:6.2f} s   ratio to the bare loop {seconds / bare:.3f}")
    ratio = best["train.train_epoch"] / bare
    print(f"train.train_epoch / bare loop: {ratio:.3f} (target: <= {target})")


if __name__ == "__main__":
    main()
