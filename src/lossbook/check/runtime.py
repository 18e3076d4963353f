"""The run-time companion of `lossbook.check`: what only a running program shows.

The static checker reads names; it cannot follow a tensor through a model defined in another
file. These checks look at the tensors themselves, and warn (once each) only when the
answer is certain:

- `watch_loss(loss_fn)`: the loss's input came out of a softmax, log-softmax or sigmoid
  (its `grad_fn`, through views and copies), or, for `CrossEntropyLoss`/`NLLLoss` under
  `torch.no_grad()`, its rows are probabilities (non-negative, summing to 1). Chapter 2,
  "Cross-entropy", explains why the loss wants logits (or log-probabilities for `NLLLoss`).
- `watch_running_loss(value)`: a running loss about to be reported still requires grad, so it
  holds the autograd graph of every batch added to it (chapter 3, "Averaging loss and
  accuracy honestly").

What they cannot see: an input detached, or computed under `no_grad`, for
`BCEWithLogitsLoss` (probabilities in [0, 1] are valid logits too); a softmax inside a custom
`autograd.Function`, or followed by an operation other than a view or copy (`probs * 2`);
anything about averaging over batches (each call sees one batch), evaluation modes or
several processes: for those, run the static checker.

>>> import warnings
>>> import torch
>>> loss_fn = watch_loss(torch.nn.CrossEntropyLoss())
>>> logits = torch.randn(4, 3, requires_grad=True)
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     _ = loss_fn(logits.softmax(dim=1), torch.tensor([0, 1, 2, 0]))
>>> print(caught[0].message)
LB201 CrossEntropyLoss got the output of a softmax: it applies log_softmax itself; pass the logits
"""

import functools
import re
import warnings
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["LossInputWarning", "watch_loss", "watch_running_loss"]

# Autograd nodes that keep what the tensor came from: views, reshapes, copies.
_PASS_THROUGH = re.compile(r"(View|ReshapeAlias|UnsafeView|Squeeze|Unsqueeze|Transpose|Permute|Clone|ToCopy"
                           r"|Expand|Select|Slice|Index|AsStrided|T)Backward\d*")
# (loss, producer) -> the static rule's code and what to do.
_WRONG = {
    ("CrossEntropyLoss", "Softmax"): ("LB201", "it applies log_softmax itself; pass the logits"),
    ("CrossEntropyLoss", "LogSoftmax"): ("LB202", "it applies log_softmax itself (redundant); pass the "
                                                  "logits"),
    ("NLLLoss", "Softmax"): ("LB203", "it wants log-probabilities; use log_softmax"),
    ("BCEWithLogitsLoss", "Sigmoid"): ("LB204", "it applies the sigmoid itself; pass the logits"),
}
_FUNCTIONS = {"cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss",
              "binary_cross_entropy_with_logits": "BCEWithLogitsLoss"}


class LossInputWarning(UserWarning):
    """A loss was given the wrong kind of input (see `watch_loss`)."""


def _producer(tensor: torch.Tensor) -> str | None:
    """The operation that made `tensor` ("Softmax", "LogSoftmax", "Sigmoid", ...), through views."""
    node = tensor.grad_fn
    while node is not None:
        name = type(node).__name__
        if not _PASS_THROUGH.fullmatch(name) or not node.next_functions:
            return re.sub(r"Backward\d*$", "", name)
        node = node.next_functions[0][0]
    return None


def _probabilities(tensor: torch.Tensor) -> bool:
    """Whether every row (class dimension 1) is a probability distribution: certain, not likely."""
    if tensor.dim() < 2 or tensor.shape[0] < 2 or tensor.shape[1] < 2 or not tensor.is_floating_point():
        return False
    sums = tensor.detach().sum(dim=1)
    return bool((tensor >= 0).all() and torch.allclose(sums, torch.ones_like(sums), atol=1e-4))


def _check(kind: str, input: torch.Tensor, warned: set) -> None:
    producer = _producer(input)
    if producer is None and kind in ("CrossEntropyLoss", "NLLLoss") and _probabilities(input):
        producer = "Softmax"  # detached or under no_grad: the rows say it
    if (kind, producer) in _WRONG and (kind, producer) not in warned:
        warned.add((kind, producer))
        code, advice = _WRONG[kind, producer]
        what = {"Softmax": "a softmax", "LogSoftmax": "a log-softmax", "Sigmoid": "a sigmoid"}[producer]
        warnings.warn(f"{code} {kind} got the output of {what}: {advice}", LossInputWarning, stacklevel=4)


def watch_loss(loss_fn: nn.Module | Callable) -> nn.Module | Callable:
    """Make a loss warn once when its input came out of the wrong activation.

    Args:
        loss_fn: `nn.CrossEntropyLoss`, `nn.NLLLoss`, `nn.BCEWithLogitsLoss` (a forward pre-hook is
            added; the same module is returned), or `F.cross_entropy`, `F.nll_loss`,
            `F.binary_cross_entropy_with_logits` (a wrapper is returned). Other losses come back
            unchanged.

    Returns:
        The loss, computing what it computed before.
    """
    warned: set = set()
    kind = type(loss_fn).__name__ if isinstance(loss_fn, nn.Module) else _FUNCTIONS.get(
        getattr(loss_fn, "__name__", ""), "")
    if kind not in {k for k, _ in _WRONG}:
        return loss_fn
    if isinstance(loss_fn, nn.Module):
        loss_fn.register_forward_pre_hook(lambda module, args: _check(kind, args[0], warned))
        return loss_fn

    @functools.wraps(loss_fn)
    def watched(input: torch.Tensor, *args, **kwargs):
        _check(kind, input, warned)
        return loss_fn(input, *args, **kwargs)

    return watched


def watch_running_loss(value, name: str = "running loss"):
    """Return `value`, warning when it is a tensor that still requires grad (it holds every graph).

    >>> watch_running_loss(1.5)
    1.5
    """
    if isinstance(value, torch.Tensor) and value.requires_grad:
        warnings.warn(f"LB104 the {name} still requires grad: it holds the autograd graph of every batch "
                      "added to it; add loss.item() (or loss.detach()) instead", LossInputWarning,
                      stacklevel=2)
    return value
