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

from lossbook import _validate, losses
from lossbook.train import amp, parts
from lossbook.train.watch import Watch


def train_epoch(
    model: Callable, loader: Iterable, loss_fn: Callable, optimizer_or_step, *,
    device: torch.device | str | None = None, epoch: int = 1, progress: bool = False,
    log_every: int | None = None, log: Callable[[str], None] | None = None, distributed: bool = False,
    accumulate: int = 1, autocast: torch.dtype | None = None, scaler=None,
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
        autocast: `torch.float16` or `torch.bfloat16`: run the forward pass and the loss
            (only) under `torch.autocast` on the batch's device (see `lossbook.train.amp`).
        scaler: A `torch.amp.GradScaler` (for float16): scale the loss before `backward()`,
            step with `scaler.step(optimizer)` and `scaler.update()`.

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
    amp.check(autocast, scaler, optimizer_or_step)
    step = amp.scaled_step(step, optimizer_or_step, scaler)
    if isinstance(model, torch.nn.Module):
        model.train()
    device = parts.device_of(model) if device is None else torch.device(device)
    watch = Watch(epoch, loader, distributed, options)
    bar = parts.progress_bar(loader, progress, f"epoch {epoch}")
    log = log or (bar.write if progress else print)  # tqdm's write keeps the bar intact
    exact = accumulate > 1 or world > 1  # the count of the whole batch is needed up front
    in_sync = contextlib.nullcontext()  # DDP all-reduces the gradients in this backward pass
    for batches in _groups(enumerate(bar, start=1), accumulate):
        batches = [(batch, parts.to(X, device), parts.to(y, device)) for batch, (X, y) in batches]
        total = _total_count(batches, options, world) if exact else None
        last = len(batches) - 1
        for i, (batch, X, y) in enumerate(batches):
            with in_sync if i == last or world == 1 else model.no_sync():
                with amp.NO_REGION if autocast is None else amp.region(autocast, X.device):
                    # autocast: the forward pass and the loss only
                    scores = model(X)
                    loss = loss_fn(scores, y)
                # Only references are kept per batch (after a check of the loss's shape);
                # what each batch counts for is computed when a number is asked for.
                watch.add(batch, scores.detach(), y, loss.detach())
                if i == 0:
                    # Here, as in the usual loop, not before the forward pass: the memory
                    # of the old gradients is freed just before new ones fill it.
                    zero_grad()
                amp.backward(_objective(loss, y, options, total, world), scaler)
            if log_every and batch % log_every == 0:
                log(f"[epoch {epoch}, batch {batch:5d}] running loss {watch.running_loss():.4f}")
            if progress and watch.postfix_due(batch):
                bar.set_postfix(loss=f"{watch.loss_so_far():.4f}", refresh=False)
        step()
    return watch.result()


def _groups(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last one may be shorter)."""
    if size == 1:
        yield from ([item] for item in items)
        return
    group = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _count(y: torch.Tensor, options: losses.LossOptions) -> torch.Tensor:
    return losses.count(y, weight=options.weight, ignore_index=options.ignore_index)


def _total_count(batches: list, options: losses.LossOptions, world: int) -> torch.Tensor:
    """What the loss of all `batches`, on every process, divides by: their summed counts."""
    total = sum(_count(y, options) for _, _, y in batches)
    if world > 1:
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def _objective(loss, y, options: losses.LossOptions, total, world: int) -> torch.Tensor:
    """What to call `backward()` on, so that the gradients add up to the whole batch's."""
    if total is None:  # one batch, one process: the loss as the loss function defined it
        return loss if options.reduction != "none" else loss.sum() / _count(y, options)
    batch_sum = loss * _count(y, options) if options.reduction == "mean" else loss.sum()
    # DDP averages the gradients of `world` processes: multiply by `world` to undo it.
    return batch_sum * world if options.reduction == "sum" else batch_sum * world / total
