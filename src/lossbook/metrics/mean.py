"""`Mean`: a loss averaged over what counts, and `mean_and_count`: a batch loss as (mean, count).

Taught in the chapter "Averaging loss and accuracy" (chapter 3): keep sums, divide once.
The chapter "Averaging when samples don't count the same" (chapter 6) adds what a batch
counts for when targets carry class weights or are ignored (padding): not `len(y)`, but
what the loss itself divided by, `losses.count(y, weight=..., ignore_index=...)`.

The words, as in torch and torchmetrics: `weight` in `Mean.update(value, weight)` is how
much a value counts (torchmetrics' `MeanMetric`); `weight=` of a loss holds class
weights (torch's); `count` is what a batch counts for, the `weight` its mean gets.
"""

import math

import torch

from lossbook import _validate, losses
from lossbook.metrics.sums import RunningSums, as_float64, ratio

Number = float | int | torch.Tensor


class Mean(RunningSums):
    """Weighted running mean: `value_sum / weight_sum`, the sums of `value * weight` and `weight`, in float64.

    Feed it a batch's mean loss with what the batch counts for as the weight (the pair
    `mean_and_count` returns), or per-sample losses with the default weight 1, and `compute()`
    is the mean over samples, however the batches were sized. Values are detached, so
    accumulating a loss never keeps its autograd graph alive. A NaN value makes the mean
    NaN (a loss that diverged should show), except with weight 0: a value that counts
    for nothing, such as torch's NaN mean over a batch whose targets are all ignored,
    adds nothing.

    Example:
        >>> m = Mean()
        >>> m.update(torch.tensor(2.0), weight=10)  # a full batch of 10, mean loss 2
        >>> m.update(torch.tensor(5.0), weight=5)   # the last batch: 5 samples, mean 5
        >>> m.compute()                             # (20 + 25) / 15, not (2 + 5) / 2
        3.0
        >>> m
        Mean(value_sum=45.0, weight_sum=15.0)
    """

    STATE = ("value_sum", "weight_sum", "square_sum", "invalid")

    def __init__(self):
        self.value_sum = torch.zeros((), dtype=torch.float64)
        self.weight_sum = torch.zeros((), dtype=torch.float64)
        self.square_sum = torch.zeros((), dtype=torch.float64)  # Σ w·v², for standard_error()
        self.invalid = torch.zeros((), dtype=torch.int64)  # weights < 0 or not finite

    def update(self, value: Number, weight: Number = 1.0) -> None:
        """Add `value` (a number or a tensor of per-sample values) with its `weight`.

        `weight` is one number for all values or a tensor of the same shape as `value`.
        Weights must be finite and >= 0: checked at once on the CPU; on an accelerator,
        where looking would make it wait, `compute()` raises instead.
        """
        if isinstance(weight, int | float) and not isinstance(weight, bool):
            self._update_with_number(as_float64(value), weight)
            return
        value = as_float64(value)
        weight = as_float64(weight, value.device)
        if weight.numel() == 1:
            weight = weight.reshape(()).expand_as(value)
        elif weight.shape != value.shape:
            raise ValueError(
                f"Mean.update: weight of shape {tuple(weight.shape)} does not match value of "
                f"shape {tuple(value.shape)}; pass one weight per value or a single number."
            )
        invalid = ~(torch.isfinite(weight) & (weight >= 0))
        if weight.device.type == "cpu" and invalid.any():
            bad = weight[invalid][0].item()
            raise ValueError(f"Mean.update: weights must be finite and >= 0, got {bad}.")
        # torch.where, not value * weight: a weight of 0 must count for nothing, even nan.
        weighted = torch.where(weight == 0, 0.0, value * weight)
        self._add("value_sum", weighted.sum())
        self._add("weight_sum", weight.sum())
        self._add("square_sum", torch.where(weight == 0, 0.0, weighted * value).sum())
        self._add("invalid", invalid.sum())

    def _update_with_number(self, value: torch.Tensor, weight: int | float) -> None:
        """One weight, a Python number, for every value: checked here, no tensor of weights."""
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"Mean.update: weights must be finite and >= 0, got {weight}.")
        if weight == 0:
            return  # counts for nothing, even a nan value
        total, squares = (value, value * value) if value.dim() == 0 else (value.sum(), (value * value).sum())
        self._add("value_sum", total if weight == 1 else total * weight)
        self._add("weight_sum", weight * value.numel())
        self._add("square_sum", squares if weight == 1 else squares * weight)

    def compute(self, distributed: bool = False) -> float:
        """The weighted mean of everything seen since the last `reset()`.

        Args:
            distributed: Average over the updates of every process in the default process
                group (see `lossbook.metrics`). A collective: every process must call it.
                Without an initialized process group it is the local mean.
        """
        value_sum, weight_sum, _, invalid = self._summed(distributed)
        if invalid:
            raise ValueError(f"Mean.update was given {int(invalid)} weight(s) < 0 or not finite.")
        return ratio(value_sum, weight_sum, "Mean", "or every weight was 0")

    def standard_error(self, distributed: bool = False) -> float:
        """The standard error of the mean, from the sums of values and of their squares.

        Taught in the chapter "How sure is that number?" (chapter 8). It reads each weight
        as a number of samples that share the value, so it holds when the updates are
        per-sample values (`reduction="none"` losses, weight 1): then it is
        `std(values, ddof=1) / sqrt(n)`, exact across processes like the mean. Batch means
        with their counts as weights give the spread of the batch means, not this.

        Example:
            >>> m = Mean()
            >>> m.update(torch.tensor([1.0, 2.0, 3.0, 4.0]))
            >>> m.compute(), round(m.standard_error(), 6)  # std 1.290994 / sqrt(4)
            (2.5, 0.645497)
        """
        value_sum, weight_sum, square_sum, _ = self._summed(distributed)
        mean = self.compute(distributed)
        if weight_sum <= 1:
            raise ValueError("Mean.standard_error needs more than one sample.")
        variance = max((square_sum.item() - weight_sum.item() * mean**2) / (weight_sum.item() - 1), 0.0)
        return math.sqrt(variance / weight_sum.item())

    def __repr__(self) -> str:
        return f"Mean(value_sum={self.value_sum.item()}, weight_sum={self.weight_sum.item()})"


def mean_and_count(loss: torch.Tensor | float, y: torch.Tensor, loss_fn=None, *, reduction: str | None = None,
                   weight: torch.Tensor | None = None, ignore_index: int = losses.IGNORE_INDEX):
    """Turn a batch loss into the `(mean, count)` pair that `Mean.update(mean, weight=count)` wants.

    The count is what the batch counts for: its number of targets, or, with class
    weights or ignored targets, the sum that `reduction="mean"` divides by. Say how the
    loss was computed, never guessed: pass the loss module that computed it (its
    `reduction`, `weight` and `ignore_index` are read from it), or, for a function such as
    `F.cross_entropy`, its `reduction` and options. Summed over batches, `mean * count`
    and `count` give exactly the loss of one call over the whole dataset. Nothing leaves
    the device; a Python float stays float64.

    Args:
        loss: The batch loss, as the loss function returned it.
        y: The batch's targets, as given to the loss function.
        loss_fn: `nn.CrossEntropyLoss`, `nn.NLLLoss` or a `losses.declare`d function.
        reduction: Without `loss_fn`: "mean", "sum" or "none", as given to the loss.
        weight: Without `loss_fn`: the class weights given to the loss, if any.
        ignore_index: Without `loss_fn`: the label the loss skipped (torch's default -100).

    Example:
        >>> y = torch.tensor([0, 2, -100, 1])  # one ignored target: the batch counts for 3
        >>> mean_and_count(torch.tensor(1.5), y, torch.nn.CrossEntropyLoss())
        (tensor(1.5000), tensor(3))
        >>> mean_and_count(torch.tensor(12.0), y, reduction="sum")
        (tensor(4.), tensor(3))
    """
    options = _options(loss_fn, reduction, weight, ignore_index)
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"mean_and_count(loss, y, ...): y must be the batch's targets as a tensor, got "
                        f"{type(y).__name__}; pass the y given to the loss function.")
    loss = loss if isinstance(loss, torch.Tensor) else as_float64(loss, y.device)
    count = losses.count(y, weight=options.weight, ignore_index=options.ignore_index)
    if options.reduction == "none":
        if loss.shape != _validate.per_target_shape(y):
            raise ValueError(
                f"reduction='none' gives one loss per target, shape {tuple(_validate.per_target_shape(y))}, "
                f"but the loss has shape {tuple(loss.shape)}."
            )
        return loss.sum() / count, count
    if loss.numel() != 1:
        raise ValueError(
            f"reduction={options.reduction!r} gives a single number, but the loss has shape "
            f"{tuple(loss.shape)}; was it computed with reduction='none'?"
        )
    return (loss, count) if options.reduction == "mean" else (loss / count, count)


def _options(loss_fn, reduction, weight, ignore_index) -> losses.LossOptions:
    if loss_fn is None:
        if reduction is None:
            raise TypeError("mean_and_count: say how the loss was reduced: pass the loss module "
                            "(mean_and_count(loss, y, loss_fn)) or reduction='mean', 'sum' or 'none'.")
        return losses.LossOptions(reduction, weight, ignore_index)
    if reduction is not None or weight is not None or ignore_index != losses.IGNORE_INDEX:
        raise TypeError("mean_and_count: pass either loss_fn or its options (reduction=, weight=, "
                        "ignore_index=), not both: the options are read from loss_fn.")
    return losses.options_of(loss_fn)
