"""Training loops that report loss and accuracy averaged per sample: `train_epoch`, `evaluate`, `fit`.

Taught in the chapter "Softmax regression on Fashion-MNIST", which first writes the loop out
by hand; reused by the MLP chapter and the command-line runner. The averages come from
`lossbook.metrics`, so a smaller last batch counts for exactly its number of samples, and a
batch of weighted or ignored targets for exactly what the loss divided by. Gradient
accumulation and data-parallel training (the chapter "Averaging when samples don't count
the same") normalise by the count of the whole batch, so their gradient is the full batch's.

Nothing in the loop waits for the device: metrics add on it, and a non-finite loss is
noticed on it too and reported at the end of the epoch (or at the next logged line).
"""

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from lossbook import _loop, losses, metrics
from lossbook._loop import NonFiniteLossError

__all__ = ["NonFiniteLossError", "evaluate", "fit", "train_epoch"]


def train_epoch(
    model: Callable, loader: Iterable, loss_fn: Callable, optimizer_or_step, *,
    device: torch.device | str | None = None, epoch: int = 1, progress: bool = False,
    log_every: int | None = None, log: Callable[[str], None] | None = None, distributed: bool = False,
    accumulate: int = 1,
) -> dict[str, float]:
    """Train for one pass over `loader`; return its per-sample mean `"loss"` and `"acc"`.

    The loss is averaged while the parameters change, as training losses usually are.

    Args:
        model: An `nn.Module` (switched to train mode) or any function from `X` to scores.
        loader: Yields `(X, y)` batches.
        loss_fn: `loss_fn(model(X), y)` returns the batch mean, the batch sum or per-sample
            losses; an `nn` loss's `reduction`, `weight` and `ignore_index` are read from it.
        optimizer_or_step: A `torch.optim` optimizer, or a callable `step()` that updates the
            parameters from their `.grad` and zeroes the grads (a hand-written SGD).
        device: Where to move each batch; default: where `model`'s parameters are.
        epoch: Used in messages and the progress bar only.
        progress: Show a tqdm progress bar.
        log_every: Every this many batches, log the loss averaged per sample over them.
        log: Receives the log lines; default `print`.
        distributed: Under DistributedDataParallel, where each process sees its own share
            of every batch: report the averages over the samples of every process, and
            scale each process's loss by the count of the whole batch (all-reduced before
            the backward passes), so that DDP's averaged gradient is the full batch's even
            when the processes hold different counts. Every process makes the same calls.
        accumulate: Update the parameters once every `accumulate` batches, with the
            gradient of the loss over all of them: each batch's summed loss is divided by
            their total count (computed before the backward passes), not averaged per batch.

    Raises:
        NonFiniteLossError: A batch's loss was NaN or infinite (raised at the next logged
            line or at the end of the epoch).

    Example:
        >>> from lossbook.data import TensorLoader
        >>> _ = torch.manual_seed(0)
        >>> X, y = torch.randn(10, 3), torch.tensor([0, 1] * 5)
        >>> model = torch.nn.Linear(3, 2)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> result = train_epoch(model, TensorLoader(X, y, 4), torch.nn.CrossEntropyLoss(), optimizer)
        >>> sorted(result), 0 <= result["acc"] <= 1
        (['acc', 'loss'], True)
    """
    _loop.check_positive("log_every", log_every, allow_none=True)
    _loop.check_positive("accumulate", accumulate)
    step, zero_grad = _loop.step_functions(optimizer_or_step)
    if isinstance(model, torch.nn.Module):
        model.train()
    device = _loop.device_of(model) if device is None else torch.device(device)
    options = _loop.loss_options(loss_fn)
    watch = _loop.Watch(epoch, loader, distributed, loss_fn, options.get("ignore_index"))
    world = dist.get_world_size() if distributed and isinstance(model, DistributedDataParallel) else 1
    bar = _loop.progress_bar(loader, progress, f"epoch {epoch}")
    log = log or (bar.write if progress else print)  # tqdm's write keeps the bar intact
    for batches in _groups(enumerate(bar, start=1), accumulate):
        batches = [(batch, _loop.to(X, device), _loop.to(y, device)) for batch, (X, y) in batches]
        total = _total_count(batches, options, world) if accumulate > 1 or world > 1 else None
        for i, (batch, X, y) in enumerate(batches):
            last = i == len(batches) - 1
            with contextlib.nullcontext() if last or world == 1 else model.no_sync():
                scores = model(X)
                loss = loss_fn(scores, y)
                reduction = _loop.reduction_of(loss_fn, loss, y)
                value, count = metrics.weighted(loss, y, reduction=reduction, **options)
                if i == 0:
                    # Here, as in the usual loop, not before the forward pass: the memory
                    # of the old gradients is freed just before new ones fill it.
                    zero_grad()
                _objective(loss, reduction, value, count, total, world).backward()
            watch.add(batch, scores.detach(), y, value, count)
            if log_every and batch % log_every == 0:
                log(f"[epoch {epoch}, batch {batch:5d}] running loss {watch.running_loss():.4f}")
            if progress and watch.postfix_due(batch):
                bar.set_postfix(loss=f"{watch.loss_so_far():.4f}", refresh=False)
        step()
    return watch.result()


@torch.no_grad()
def evaluate(
    model: Callable, loader: Iterable, loss_fn: Callable | None, *,
    device: torch.device | str | None = None, distributed: bool = False,
) -> dict[str, float]:
    """Per-sample mean `"loss"` and `"acc"` of `model` over `loader`, without gradients.

    An `nn.Module` is put in eval mode (dropout off, batch norm uses its running statistics)
    and given back in the mode it was in. Arguments as in `train_epoch`; with `loss_fn=None`
    only `"acc"` is computed.

    Raises:
        NonFiniteLossError: A batch's loss is NaN or infinite.

    Example:
        >>> from lossbook.data import TensorLoader
        >>> model = torch.nn.Linear(2, 2)
        >>> X, y = torch.randn(5, 2), torch.tensor([0, 1, 1, 0, 1])
        >>> sorted(evaluate(model, TensorLoader(X, y, 2), torch.nn.CrossEntropyLoss()))
        ['acc', 'loss']
        >>> model.training  # given back in train mode
        True
    """
    was_training = isinstance(model, torch.nn.Module) and model.training
    if isinstance(model, torch.nn.Module):
        model.eval()
    device = _loop.device_of(model) if device is None else torch.device(device)
    options = _loop.loss_options(loss_fn)
    watch = _loop.Watch(None, loader, distributed, loss_fn, options.get("ignore_index"))
    try:
        for batch, (X, y) in enumerate(loader, start=1):
            X, y = _loop.to(X, device), _loop.to(y, device)
            scores = model(X)
            value = count = None
            if loss_fn is not None:
                loss = loss_fn(scores, y)
                reduction = _loop.reduction_of(loss_fn, loss, y)
                value, count = metrics.weighted(loss, y, reduction=reduction, **options)
            watch.add(batch, scores, y, value, count)
    finally:
        if was_training:
            model.train()
    return watch.result()


def fit(
    model: Callable, train_loader: Iterable, loss_fn: Callable, optimizer_or_step, num_epochs: int, *,
    test_loader: Iterable | None = None, device: torch.device | str | None = None,
    progress: bool = True, log_every: int | None = None, log: Callable[[str], None] | None = None,
    on_epoch: Callable[[dict], None] | None = None, distributed: bool = False, accumulate: int = 1,
) -> list[dict[str, float]]:
    """Train for `num_epochs`, evaluating on `test_loader` after each; return the history.

    Arguments as in `train_epoch`; `on_epoch(record)` is called after every epoch (to print,
    save a checkpoint or step a learning-rate scheduler).

    Returns:
        One dict per epoch: `epoch` (from 1), `train_loss`, `train_acc`, with a `test_loader`
        also `test_loss` and `test_acc`, and `seconds` (wall time of the epoch and its test).

    Example:
        >>> from lossbook.data import TensorLoader
        >>> _ = torch.manual_seed(0)
        >>> X, y = torch.randn(20, 3), torch.tensor([0, 1] * 10)
        >>> model = torch.nn.Linear(3, 2)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> history = fit(model, TensorLoader(X, y, 8), torch.nn.CrossEntropyLoss(), optimizer,
        ...               num_epochs=2, test_loader=TensorLoader(X, y, 8), progress=False)
        >>> [record["epoch"] for record in history], list(history[0])
        ([1, 2], ['epoch', 'train_loss', 'train_acc', 'test_loss', 'test_acc', 'seconds'])
    """
    _loop.check_positive("num_epochs", num_epochs)
    history = []
    for epoch in range(1, num_epochs + 1):
        # A DistributedSampler shuffles the same way every epoch unless told the epoch.
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        start = time.perf_counter()
        train = train_epoch(model, train_loader, loss_fn, optimizer_or_step, device=device, epoch=epoch,
                            progress=progress, log_every=log_every, log=log, distributed=distributed,
                            accumulate=accumulate)
        record = {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["acc"]}
        if test_loader is not None:
            test = evaluate(model, test_loader, loss_fn, device=device, distributed=distributed)
            record |= {"test_loss": test["loss"], "test_acc": test["acc"]}
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history


def _groups(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last one may be shorter)."""
    group = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _total_count(batches: list, options: dict, world: int) -> torch.Tensor:
    """What the loss of all `batches`, on every process, divides by: their summed counts."""
    total = sum(losses.count(y, **options) for _, _, y in batches)
    if world > 1:
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def _objective(loss, reduction: str, value, count, total, world: int) -> torch.Tensor:
    """What to call `backward()` on, so that the gradients add up to the whole batch's."""
    if total is None:  # one batch, one process: the loss as the loss function defined it
        return value if reduction == "none" else loss
    batch_sum = loss.sum() if reduction != "mean" else loss * count
    # DDP averages the gradients of `world` processes: multiply by `world` to undo it.
    return batch_sum * world if reduction == "sum" else batch_sum * world / total
