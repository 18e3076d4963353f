"""What a loss function's value is averaged over, read from the loss itself: never guessed.

Taught in chapter 6, "Averaging when samples don't count the same". A batch loss counts
for what its mean divided by: with class weights their sum, with `ignore_index` the
targets that are not ignored, with `reduction="sum"` nothing at all (it is a sum). Code
that combines batch losses (`metrics.mean_and_count`, the loops of `lossbook.train`)
reads these options from the loss module, `nn.CrossEntropyLoss` or `nn.NLLLoss`, so they
cannot drift from it. A plain function carries none of them: `declare` states them.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lossbook import _validate
from lossbook.losses.checks import IGNORE_INDEX

LOSS_MODULES = (nn.CrossEntropyLoss, nn.NLLLoss)


@dataclass(frozen=True)
class LossOptions:
    """How a loss reduces a batch: `reduction`, class `weight` (or None), `ignore_index`."""

    reduction: str = "mean"
    weight: torch.Tensor | None = None
    ignore_index: int = IGNORE_INDEX

    def __post_init__(self):
        _validate.reduction(self.reduction)
        if self.weight is not None and not isinstance(self.weight, torch.Tensor):
            raise TypeError(f"weight must be a tensor of class weights, got {type(self.weight).__name__}.")
        if isinstance(self.ignore_index, bool) or not isinstance(self.ignore_index, int):
            raise TypeError(f"ignore_index must be an integer, got {self.ignore_index!r}.")


class DeclaredLoss:
    """A loss function with its options stated (see `declare`); calling it calls the function."""

    def __init__(self, fn: Callable, options: LossOptions):
        if not callable(fn):
            raise TypeError(f"declare: expected a loss function, got {type(fn).__name__}.")
        self.fn, self.options = fn, options
        # The attributes of an `nn` loss, so code that reads them there reads them here.
        self.reduction, self.weight, self.ignore_index = options.reduction, options.weight, \
            options.ignore_index

    def __call__(self, *args, **kwargs):
        """`fn(*args, **kwargs)`."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        return f"declare({name}, reduction={self.reduction!r})"


def declare(fn: Callable, *, reduction: str, weight: torch.Tensor | None = None,
            ignore_index: int = IGNORE_INDEX) -> DeclaredLoss:
    """State what a plain loss function returns, so that batches of it can be combined exactly.

    Args:
        fn: `fn(logits, y)` returns a batch loss.
        reduction: What `fn` returns: `"mean"` (divided by the count), `"sum"`, or `"none"`
            (one loss per target).
        weight: The class weights `fn` applies, if any (the mean divides by their sum).
        ignore_index: The label `fn` skips (torch's default: -100).

    Example:
        >>> import torch.nn.functional as F
        >>> loss_fn = declare(lambda z, y: F.cross_entropy(z, y, reduction="sum"), reduction="sum")
        >>> options_of(loss_fn)
        LossOptions(reduction='sum', weight=None, ignore_index=-100)
    """
    return DeclaredLoss(fn, LossOptions(reduction, weight, ignore_index))


def options_of(loss_fn) -> LossOptions:
    """The options of `nn.CrossEntropyLoss`, `nn.NLLLoss` or a `declare`d function.

    Raises:
        TypeError: `loss_fn` is anything else (a lambda, a `functools.partial`, another
            `nn` loss): what its value is averaged over cannot be known.

    Example:
        >>> options_of(nn.CrossEntropyLoss(reduction="sum", ignore_index=0))
        LossOptions(reduction='sum', weight=None, ignore_index=0)
    """
    if isinstance(loss_fn, DeclaredLoss):
        return loss_fn.options
    if isinstance(loss_fn, LOSS_MODULES):
        return LossOptions(loss_fn.reduction, loss_fn.weight, loss_fn.ignore_index)
    name = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
    raise TypeError(
        f"cannot tell what the loss {name!r} is averaged over (its reduction, class weights and "
        "ignored label), so batches of it cannot be combined exactly. Pass nn.CrossEntropyLoss(...) "
        "or nn.NLLLoss(...) with its options, or state them for a function: "
        "losses.declare(fn, reduction='mean', weight=None, ignore_index=-100)."
    )


def describe(loss_fn) -> str:
    """A short name for what `loss_fn` computes, for reports (e.g. the command line's).

    Example:
        >>> describe(nn.CrossEntropyLoss(label_smoothing=0.1))
        'cross-entropy with label smoothing 0.1'
    """
    if isinstance(loss_fn, DeclaredLoss):
        return repr(loss_fn)
    name = {nn.CrossEntropyLoss: "cross-entropy", nn.NLLLoss: "NLL"}.get(type(loss_fn), repr(loss_fn))
    extras = ["class weights"] * (getattr(loss_fn, "weight", None) is not None)
    smoothing = getattr(loss_fn, "label_smoothing", 0.0)
    extras += [f"label smoothing {smoothing:g}"] * bool(smoothing)
    return " with ".join([name, " and ".join(extras)]) if extras else name
