"""`fit`: train for a number of epochs, evaluating after each; the history as one dict per epoch.

Taught in the chapter "Softmax regression on Fashion-MNIST" (chapter 4) and used by
every chapter that trains after it and by the command-line runner.
"""

import time
from collections.abc import Callable, Iterable

import torch

from lossbook import _validate
from lossbook.train.epoch import train_epoch
from lossbook.train.evaluate import evaluate


def fit(
    model: Callable, train_loader: Iterable, loss_fn, optimizer_or_step, num_epochs: int, *,
    val_loader: Iterable | None = None, test_loader: Iterable | None = None, eval_loss_fn=None,
    device: torch.device | str | None = None, progress: bool = True, log_every: int | None = None,
    log: Callable[[str], None] | None = None, on_epoch: Callable[[dict], None] | None = None,
    distributed: bool = False, accumulate: int = 1,
) -> list[dict[str, float]]:
    """Train for `num_epochs`, evaluating on `val_loader` and `test_loader` after each.

    Arguments as in `train_epoch`; `on_epoch(record)` is called after every epoch (to print,
    save a checkpoint or step a learning-rate scheduler). Choose on the validation split;
    pass a `test_loader` once, for the final model.

    Args:
        model: As in `train_epoch`.
        train_loader: The training batches, `train_epoch`'s `loader`.
        loss_fn: The training loss, as in `train_epoch`.
        optimizer_or_step: As in `train_epoch`.
        device: As in `train_epoch`.
        progress: As in `train_epoch`.
        log_every: As in `train_epoch`.
        log: As in `train_epoch`.
        distributed: As in `train_epoch` (and in `evaluate`).
        accumulate: As in `train_epoch`.
        num_epochs: How many passes over `train_loader`.
        on_epoch: Called with each epoch's record.
        val_loader: The validation split: recorded as `val_loss`, `val_accuracy`.
        test_loader: The test split: recorded as `test_loss`, `test_accuracy`.
        eval_loss_fn: The loss `evaluate` reports for both (default: the plain
            cross-entropy, the NLL), whatever `loss_fn` trains with (label smoothing, class
            weights); `train_loss` is the training loss, averaged while the weights move.

    Returns:
        One dict per epoch: `epoch` (from 1), `train_loss`, `train_accuracy`, the `val_`
        and `test_` pairs of the loaders given, and `seconds` (wall time of the epoch and
        its evaluations).

    Example:
        >>> from lossbook.data import TensorLoader
        >>> _ = torch.manual_seed(0)
        >>> X_train, y_train = torch.randn(20, 3), torch.arange(20) % 2
        >>> X_val, y_val = torch.randn(8, 3), torch.arange(8) % 2
        >>> model = torch.nn.Linear(3, 2)
        >>> history = fit(model, TensorLoader(X_train, y_train, 8), torch.nn.CrossEntropyLoss(),
        ...               torch.optim.SGD(model.parameters(), lr=0.1), num_epochs=2,
        ...               val_loader=TensorLoader(X_val, y_val, 8), progress=False)
        >>> [record["epoch"] for record in history], list(history[0])
        ([1, 2], ['epoch', 'train_loss', 'train_accuracy', 'val_loss', 'val_accuracy', 'seconds'])
    """
    _validate.positive_int("num_epochs", num_epochs)
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
        record = {"epoch": epoch, "train_loss": train["loss"], "train_accuracy": train["accuracy"]}
        for split, loader in (("val", val_loader), ("test", test_loader)):
            if loader is not None:
                result = evaluate(model, loader, eval_loss_fn, device=device, distributed=distributed)
                record |= {f"{split}_loss": result["loss"], f"{split}_accuracy": result["accuracy"]}
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history
