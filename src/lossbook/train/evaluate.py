"""`evaluate`: a model's loss and accuracy over a dataset, averaged per sample, without gradients.

Taught in the chapter "Softmax regression on Fashion-MNIST" (chapter 4). The loss it
reports is its own choice, not the training loss: by default the plain cross-entropy
(the negative log-likelihood, NLL), which the book reports for every model, whatever
label smoothing or class weights it was trained with.
"""

from collections.abc import Callable, Iterable

import torch
from torch import nn

from lossbook import losses, metrics
from lossbook.train import parts
from lossbook.train.watch import Watch


@torch.no_grad()
def evaluate(
    model: Callable, loader: Iterable, loss_fn=None, *,
    device: torch.device | str | None = None, distributed: bool = False,
) -> dict[str, float]:
    """Per-sample mean `"loss"` and `"accuracy"` of `model` over `loader`, without gradients.

    An `nn.Module` is put in eval mode (dropout off, batch norm uses its running statistics)
    and given back in the mode it was in.

    Args:
        model: An `nn.Module` or any function from `X` to scores.
        loader: Yields `(X, y)` batches.
        loss_fn: The loss to report, as `train_epoch` takes it; default (None): the plain
            cross-entropy `nn.CrossEntropyLoss()`, the NLL of the labels.
        device: Where to move each batch; default: where `model`'s parameters are.
        distributed: Average over the samples of every process of the default process
            group (every process must call it; each sees its own share of the data).

    Raises:
        NonFiniteLossError: A batch's loss is NaN or infinite.
        ValueError: With the default loss, the model's outputs are probabilities (rows of
            non-negative numbers summing to 1), not the logits cross-entropy needs.

    Example:
        >>> from lossbook.data import TensorLoader
        >>> model = torch.nn.Linear(2, 2)
        >>> X, y = torch.randn(5, 2), torch.tensor([0, 1, 1, 0, 1])
        >>> sorted(evaluate(model, TensorLoader(X, y, 2)))
        ['accuracy', 'loss']
        >>> model.training  # given back in train mode
        True
    """
    default = loss_fn is None
    loss_fn = nn.CrossEntropyLoss() if default else loss_fn
    options = losses.options_of(loss_fn)
    was_training = isinstance(model, torch.nn.Module) and model.training
    if isinstance(model, torch.nn.Module):
        model.eval()
    device = parts.device_of(model) if device is None else torch.device(device)
    watch = Watch(None, loader, distributed, options.ignore_index)
    try:
        for batch, (X, y) in enumerate(loader, start=1):
            X, y = parts.to(X, device), parts.to(y, device)
            scores = model(X)
            if default and batch == 1:
                _check_logits(scores)
            value, count = metrics.mean_and_count(loss_fn(scores, y), y, loss_fn)
            watch.add(batch, scores, y, value, count)
    finally:
        if was_training:
            model.train()
    return watch.result()


def _check_logits(scores: torch.Tensor) -> None:
    """Refuse probabilities where the default loss needs logits (checked on the first batch)."""
    if scores.dim() < 2 or not scores.dtype.is_floating_point:
        return
    sums = scores.sum(dim=1)
    if bool((scores >= 0).all() and torch.allclose(sums, torch.ones_like(sums), atol=1e-4)):
        raise ValueError(
            "evaluate: the model outputs probabilities (rows summing to 1), but the default loss, "
            "the plain cross-entropy, takes logits and would apply a second softmax. Pass the loss "
            "that fits the outputs, e.g. loss_fn=losses.declare(nll_of_probabilities, reduction='none') "
            "(eval_loss_fn= in train.fit), or make the model return logits."
        )
