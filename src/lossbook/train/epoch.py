"""`train_epoch`: one pass over the training data, its loss and accuracy averaged per sample.

Taught in the chapter "Softmax regression on Fashion-MNIST" (chapter 4), which first
writes the loop out by hand. What a batch loss counts for is read from the loss itself
(`losses.options_of`), never guessed. Gradient accumulation and data-parallel training
(chapter 6, "Averaging when samples don't count the same") normalise by the count of the
whole batch, so their gradient is the full batch's when each sample's loss depends only
on that sample (not with batch norm in training mode).

Nothing in the loop waits for the device: metrics add on it, and a non-finite loss is
noticed on it too and reported at the end of the epoch (or at the next logged line).
"""

import contextlib
from collections.abc import Callable, Iterable, Iterator

import torch
import torch.distributed as dist

from lossbook import _validate, losses, metrics
from lossbook.train import parts
from lossbook.train.watch import Watch


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
        loss_fn: `nn.CrossEntropyLoss`, `nn.NLLLoss`, or a function whose reduction and
            options are stated with `losses.declare`: what each batch counts for is read
            from it (`losses.options_of`); anything else is refused.
        optimizer_or_step: A `torch.optim` optimizer, or a callable `step()` that updates the
            parameters from their `.grad` and zeroes the grads (a hand-written SGD).
        device: Where to move each batch; default: where `model`'s parameters are.
        epoch: Used in messages and the progress bar only.
        progress: Show a tqdm progress bar.
        log_every: Every this many batches, log the loss averaged per sample over them.
        log: Receives the log lines; default `print`.
        distributed: `model` is a DistributedDataParallel model (compiled or not) and each
            process sees its own share of every batch: report the averages over the samples
            of every process, and scale each process's loss by the count of the whole batch
            (all-reduced before the backward passes) times the group's world size, so that
            DDP's averaged gradient is the full batch's even when the processes hold
            different counts. Every process makes the same calls.
        accumulate: Update the parameters once every `accumulate` batches, with the
            gradient of the loss over all of them: each batch's summed loss is divided by
            their total count (computed before the backward passes), not averaged per batch.

    Raises:
        NonFiniteLossError: A batch's loss was NaN or infinite (raised at the next logged
            line or at the end of the epoch).
        TypeError: `loss_fn` does not say what it is averaged over, or `distributed=True`
            with a model that is not DDP.

    Example:
        >>> from lossbook.data import TensorLoader
        >>> _ = torch.manual_seed(0)
        >>> X, y = torch.randn(10, 3), torch.tensor([0, 1] * 5)
        >>> model = torch.nn.Linear(3, 2)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> result = train_epoch(model, TensorLoader(X, y, 4), torch.nn.CrossEntropyLoss(), optimizer)
        >>> sorted(result), 0 <= result["accuracy"] <= 1
        (['accuracy', 'loss'], True)
    """
    _validate.positive_int("log_every", log_every, allow_none=True)
    _validate.positive_int("accumulate", accumulate)
    options = losses.options_of(loss_fn)
    world = parts.ddp_world_size(model) if distributed else 1
    step, zero_grad = parts.step_functions(optimizer_or_step)
    if isinstance(model, torch.nn.Module):
        model.train()
    device = parts.device_of(model) if device is None else torch.device(device)
    watch = Watch(epoch, loader, distributed, options.ignore_index)
    bar = parts.progress_bar(loader, progress, f"epoch {epoch}")
    log = log or (bar.write if progress else print)  # tqdm's write keeps the bar intact
    for batches in _groups(enumerate(bar, start=1), accumulate):
        batches = [(batch, parts.to(X, device), parts.to(y, device)) for batch, (X, y) in batches]
        total = _total_count(batches, options, world) if accumulate > 1 or world > 1 else None
        for i, (batch, X, y) in enumerate(batches):
            last = i == len(batches) - 1
            with contextlib.nullcontext() if last or world == 1 else model.no_sync():
                scores = model(X)
                loss = loss_fn(scores, y)
                value, count = metrics.mean_and_count(loss, y, loss_fn)
                if i == 0:
                    # Here, as in the usual loop, not before the forward pass: the memory
                    # of the old gradients is freed just before new ones fill it.
                    zero_grad()
                _objective(loss, options.reduction, value, count, total, world).backward()
            watch.add(batch, scores.detach(), y, value, count)
            if log_every and batch % log_every == 0:
                log(f"[epoch {epoch}, batch {batch:5d}] running loss {watch.running_loss():.4f}")
            if progress and watch.postfix_due(batch):
                bar.set_postfix(loss=f"{watch.loss_so_far():.4f}", refresh=False)
        step()
    return watch.result()


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


def _total_count(batches: list, options: losses.LossOptions, world: int) -> torch.Tensor:
    """What the loss of all `batches`, on every process, divides by: their summed counts."""
    total = sum(losses.count(y, weight=options.weight, ignore_index=options.ignore_index)
                for _, _, y in batches)
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
