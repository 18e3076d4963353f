"""Training loops that report loss and accuracy averaged per sample: `train_epoch`, `evaluate`, `fit`.

Taught in the chapter "Softmax regression on Fashion-MNIST", which first writes the loop out
by hand; reused by the MLP chapter and the command-line runner. The averages come from
`lossbook.metrics`, so a smaller last batch counts for exactly its number of samples.
"""

import importlib.util
import time
from collections.abc import Callable, Iterable

import torch

from lossbook import metrics

__all__ = ["NonFiniteLossError", "evaluate", "fit", "train_epoch"]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; `epoch` (None in `evaluate`) and `batch` say where, from 1.

    Example:
        >>> error = NonFiniteLossError(float("nan"), epoch=2, batch=7, num_batches=235)
        >>> error.epoch, error.batch, str(error)
        (2, 7, 'the loss is nan at epoch 2, batch 7 of 235; stopped before updating the parameters...')
    """

    def __init__(self, value: float, epoch: int | None, batch: int, num_batches: int | None):
        self.epoch, self.batch = epoch, batch
        where = "evaluation" if epoch is None else f"epoch {epoch}"
        of = f" of {num_batches}" if num_batches else ""
        super().__init__(
            f"the loss is {value} at {where}, batch {batch}{of}; stopped before updating the "
            "parameters. Usual fixes: a smaller lr, inputs scaled to a small range (e.g. [0, 1]), "
            "or a loss computed from logits (log-softmax) instead of log(softmax(...))."
        )


def train_epoch(
    model: Callable, loader: Iterable, loss_fn: Callable, optimizer_or_step, *,
    device: torch.device | str | None = None, epoch: int = 1, progress: bool = False,
    log_every: int | None = None, log: Callable[[str], None] | None = None, distributed: bool = False,
) -> dict[str, float]:
    """Train for one pass over `loader`; return its per-sample mean `"loss"` and `"acc"`.

    The loss is averaged while the parameters change, as training losses usually are.

    Args:
        model: An `nn.Module` (switched to train mode) or any function from `X` to scores.
        loader: Yields `(X, y)` batches.
        loss_fn: `loss_fn(model(X), y)` returns the batch mean or per-sample losses; an
            `nn` loss with `reduction="sum"` works too (its `reduction` attribute says so).
        optimizer_or_step: A `torch.optim` optimizer, or a callable `step()` that updates the
            parameters from their `.grad` and zeroes the grads (a hand-written SGD).
        device: Where to move each batch; default: where `model`'s parameters are.
        epoch: Used in messages and the progress bar only.
        progress: Show a tqdm progress bar.
        log_every: Every this many batches, log the loss averaged per sample over them.
        log: Receives the log lines; default `print`.
        distributed: Under DistributedDataParallel, where each process sees its own share
            of the batches: report the averages over the samples of every process
            (`metrics.Mean.compute(distributed=True)`). Every process must then make the
            same calls, with the same `log_every`, even if only one of them logs.

    Raises:
        NonFiniteLossError: A batch's loss is NaN or infinite (before it updates anything).

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
    _check_positive("log_every", log_every, allow_none=True)
    step, zero_grad = _step_functions(optimizer_or_step)
    if isinstance(model, torch.nn.Module):
        model.train()
    device = _device_of(model) if device is None else torch.device(device)
    loss_mean, accuracy, running = metrics.Mean(), metrics.Accuracy(), metrics.Mean()
    batches = _progress_bar(loader, progress, f"epoch {epoch}")
    log = log or (batches.write if progress else print)  # tqdm's write keeps the bar intact
    for batch, (X, y) in enumerate(batches, start=1):
        X, y = _to(X, device), _to(y, device)
        scores = model(X)
        loss = loss_fn(scores, y)
        reduction = _reduction(loss_fn, loss, y)
        _check_finite(loss, epoch, batch, loader)
        zero_grad()
        (loss.mean() if reduction == "none" else loss).backward()
        step()
        value, weight = metrics.weighted(loss.detach(), len(y), reduction)
        loss_mean.update(value, weight)
        accuracy.update(scores.detach(), y)
        if log_every:  # each update costs ~4 % of an MLP step: skip it when nothing is logged
            running.update(value, weight)
        if log_every and batch % log_every == 0:
            running_loss = running.compute(distributed=distributed)
            log(f"[epoch {epoch}, batch {batch:5d}] running loss {running_loss:.4f}")
            running.reset()
        if progress:
            batches.set_postfix(loss=f"{loss_mean.compute():.4f}", refresh=False)
    return {"loss": loss_mean.compute(distributed=distributed),
            "acc": accuracy.compute(distributed=distributed)}


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
    device = _device_of(model) if device is None else torch.device(device)
    loss_mean, accuracy = metrics.Mean(), metrics.Accuracy()
    try:
        for batch, (X, y) in enumerate(loader, start=1):
            X, y = _to(X, device), _to(y, device)
            scores = model(X)
            accuracy.update(scores, y)
            if loss_fn is not None:
                loss = loss_fn(scores, y)
                _check_finite(loss, None, batch, loader)
                loss_mean.update(*metrics.weighted(loss, len(y), _reduction(loss_fn, loss, y)))
    finally:
        if was_training:
            model.train()
    result = {"loss": loss_mean.compute(distributed=distributed)} if loss_fn is not None else {}
    return result | {"acc": accuracy.compute(distributed=distributed)}


def fit(
    model: Callable, train_loader: Iterable, loss_fn: Callable, optimizer_or_step, num_epochs: int, *,
    test_loader: Iterable | None = None, device: torch.device | str | None = None,
    progress: bool = True, log_every: int | None = None, log: Callable[[str], None] | None = None,
    on_epoch: Callable[[dict], None] | None = None, distributed: bool = False,
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
    _check_positive("num_epochs", num_epochs)
    history = []
    for epoch in range(1, num_epochs + 1):
        # A DistributedSampler shuffles the same way every epoch unless told the epoch.
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        start = time.perf_counter()
        train = train_epoch(model, train_loader, loss_fn, optimizer_or_step, device=device, epoch=epoch,
                            progress=progress, log_every=log_every, log=log, distributed=distributed)
        record = {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["acc"]}
        if test_loader is not None:
            test = evaluate(model, test_loader, loss_fn, device=device, distributed=distributed)
            record |= {"test_loss": test["loss"], "test_acc": test["acc"]}
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history


def _step_functions(optimizer_or_step) -> tuple[Callable[[], object], Callable[[], object]]:
    if isinstance(optimizer_or_step, torch.optim.Optimizer):
        # set_to_none (the default) frees the grads between steps instead of filling them with 0.
        return optimizer_or_step.step, optimizer_or_step.zero_grad
    if callable(optimizer_or_step):
        return optimizer_or_step, lambda: None  # a hand-written step zeroes the grads itself
    raise TypeError(
        f"optimizer_or_step must be a torch.optim optimizer or a callable step(), got "
        f"{type(optimizer_or_step).__name__}; e.g. torch.optim.SGD(model.parameters(), lr=0.1)."
    )


def _reduction(loss_fn: Callable, loss: torch.Tensor, y: torch.Tensor) -> str:
    if loss.dim() == 0:
        return "sum" if getattr(loss_fn, "reduction", "mean") == "sum" else "mean"
    if loss.shape == y.shape[:1]:
        return "none"
    raise ValueError(
        f"loss_fn returned a loss of shape {tuple(loss.shape)} for {len(y)} samples; return the "
        f"batch mean (a scalar) or one loss per sample (shape ({len(y)},))."
    )


def _check_finite(loss: torch.Tensor, epoch: int | None, batch: int, loader) -> None:
    if not torch.isfinite(loss).all():
        bad = loss[~torch.isfinite(loss)].flatten()[0].item() if loss.dim() else loss.item()
        raise NonFiniteLossError(bad, epoch, batch, len(loader) if hasattr(loader, "__len__") else None)


def _device_of(model: Callable) -> torch.device | None:
    if isinstance(model, torch.nn.Module):
        parameter = next(model.parameters(), None)
        return None if parameter is None else parameter.device
    return None  # a plain function: leave the batches where they are


def _to(tensor: torch.Tensor, device: torch.device | None) -> torch.Tensor:
    return tensor if device is None else tensor.to(device, non_blocking=True)


def _check_positive(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _progress_bar(loader: Iterable, progress: bool, description: str):
    if not progress:
        return loader
    # tqdm.auto draws a widget in Jupyter, but only if ipywidgets is installed; without it,
    # it warns "IProgress not found" and prints the text bar anyway, cluttering notebook
    # outputs. So: the widget where it works, the plain text bar (no warning) elsewhere.
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(loader, desc=description, unit="batch", leave=True)
