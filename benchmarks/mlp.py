"""How much does the training loop add to the pure compute of an MLP epoch on MNIST?

Run with `make bench` (needs the datasets: see README). One epoch of the MNIST chapter's
reference recipe (784-512-256-128-64-10, SGD lr 0.01 momentum 0.5, batch 64) through
TensorLoader, against the same number of forward+backward+step calls on one fixed batch:
once with a bare loop, once with the book's own loop, `train.train_epoch` (per-sample
metrics, finiteness check). Target: ratio <= 1.2 (batching, metrics and bookkeeping add little).
"""

import time

import torch
from torch import nn

from lossbook import data, models, runtime, train

BATCH_SIZE, LR, MOMENTUM = 64, 0.01, 0.5
MNIST_MEAN_STD = (0.1307, 0.3081)


def new_model():
    """A freshly initialised model, its optimizer and its loss."""
    runtime.set_seed(0)
    model = models.mlp()
    return model, torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM), nn.CrossEntropyLoss()


def step(model, optimizer, loss_fn, X, y):
    """One forward, backward and update; returns the batch loss tensor."""
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def epoch_with_loader(train_loader) -> float:
    """One real epoch, with a per-sample running loss as the chapter computes it."""
    model, optimizer, loss_fn = new_model()
    model.train()
    start, total = time.perf_counter(), 0.0
    for X, y in train_loader:
        total += step(model, optimizer, loss_fn, X, y).item() * len(y)
    assert total > 0
    return time.perf_counter() - start


def epoch_with_train_epoch(train_loader) -> float:
    """One real epoch through the book's loop, as the MNIST chapter and the runner train."""
    model, optimizer, loss_fn = new_model()
    start = time.perf_counter()
    result = train.train_epoch(model, train_loader, loss_fn, optimizer)
    assert result["loss"] > 0
    return time.perf_counter() - start


def pure_compute(X, y, num_steps: int) -> float:
    """The same number of steps on one fixed batch: no batching, no bookkeeping."""
    model, optimizer, loss_fn = new_model()
    model.train()
    start = time.perf_counter()
    for _ in range(num_steps):
        step(model, optimizer, loss_fn, X, y)
    return time.perf_counter() - start


def main() -> None:
    """Time both and print the ratio (best of three, to damp noise)."""
    X, y = data.as_tensors(data.mnist(train=True), normalize=MNIST_MEAN_STD)
    train_loader = data.TensorLoader(X, y, BATCH_SIZE, shuffle=True,
                                     generator=torch.Generator().manual_seed(0))
    num_steps = len(train_loader)
    loop = min(epoch_with_loader(train_loader) for _ in range(3))
    book_loop = min(epoch_with_train_epoch(train_loader) for _ in range(3))
    compute = min(pure_compute(X[:BATCH_SIZE], y[:BATCH_SIZE], num_steps) for _ in range(3))
    print(f"MLP epoch on MNIST (batch {BATCH_SIZE}, {len(train_loader)} steps), best of 3, "
          f"{torch.get_num_threads()} threads:")
    print(f"bare training loop with TensorLoader: {loop:6.2f} s")
    print(f"train.train_epoch (with metrics):     {book_loop:6.2f} s")
    print(f"pure compute, {num_steps} steps:         {compute:6.2f} s")
    print(f"overhead ratio, bare loop:         {loop / compute:.2f} (target: <= 1.2)")
    print(f"overhead ratio, train.train_epoch: {book_loop / compute:.2f} (target: <= 1.2)")


if __name__ == "__main__":
    main()
