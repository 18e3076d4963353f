"""`Mean`: a loss averaged over what counts, and `weighted`: what a batch loss counts for.

Taught in the chapter "Averaging loss and accuracy" (chapter 3): keep sums, divide once.
The chapter "Averaging when samples don't count the same" (chapter 6) adds what a batch
counts for when targets carry class weights or are ignored (padding): not `len(y)`, but
what the loss itself divided by, `losses.count(y, weight=..., ignore_index=...)`.
"""

import torch

from lossbook import losses
from lossbook.metrics._sums import RunningSums, as_float64, ratio

Number = float | int | torch.Tensor
REDUCTIONS = ("mean", "sum", "none")


class Mean(RunningSums):
    """Weighted running mean: `sum(value * weight) / sum(weight)`, in float64.

    Feed it a batch's mean loss with what the batch counts for as the weight (the pair
    `weighted` returns), or per-sample losses with the default weight 1, and `compute()`
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
        Mean(total=45.0, weight=15.0)
    """

    STATE = ("total", "weight", "invalid")

    def __init__(self):
        self.total = torch.zeros((), dtype=torch.float64)
        self.weight = torch.zeros((), dtype=torch.float64)
        self.invalid = torch.zeros((), dtype=torch.int64)  # weights < 0 or not finite

    def update(self, value: Number, weight: Number = 1.0) -> None:
        """Add `value` (a number or a tensor of per-sample values) with its `weight`.

        `weight` is one number for all values or a tensor of the same shape as `value`.
        Weights must be finite and >= 0: checked at once on the CPU; on an accelerator,
        where looking would make it wait, `compute()` raises instead.
        """
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
        self._add("total", torch.where(weight == 0, 0.0, value * weight).sum())
        self._add("weight", weight.sum())
        self._add("invalid", invalid.sum())

    def compute(self, distributed: bool = False) -> float:
        """The weighted mean of everything seen since the last `reset()`.

        Args:
            distributed: Average over the updates of every process in the default process
                group (see `lossbook.metrics`). A collective: every process must call it.
                Without an initialized process group it is the local mean.
        """
        total, weight, invalid = self._summed(distributed)
        if invalid:
            raise ValueError(f"Mean.update was given {int(invalid)} weight(s) < 0 or not finite.")
        return ratio(total, weight, "Mean", "or every weight was 0")

    def __repr__(self) -> str:
        return f"Mean(total={self.total.item()}, weight={self.weight.item()})"


def weighted(loss: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean",
             weight: torch.Tensor | None = None, ignore_index: int = -100):
    """Turn a batch loss into the `(value, weight)` pair that `Mean.update` wants.

    The weight is what the batch counts for: its number of targets, or, with class
    weights or ignored targets, the sum that `reduction="mean"` divides by. Pass the
    options the loss was computed with. Summed over batches, `value * weight` and `weight`
    give exactly the loss of one call over the whole dataset. Nothing leaves the device.

    Args:
        loss: The loss as returned by a loss function with this `reduction`.
        y: The batch's targets, as given to the loss function.
        reduction: `"mean"`, `"sum"` or `"none"`, as given to the loss function.
        weight: The class weights given to the loss function, if any.
        ignore_index: The targets the loss function skipped (torch's default: -100).

    Example:
        >>> y = torch.tensor([0, 2, -100, 1])  # one ignored target: the batch counts for 3
        >>> weighted(torch.tensor(1.5), y)
        (tensor(1.5000), tensor(3.))
        >>> weighted(torch.tensor(12.0), y, reduction="sum")
        (tensor(4.), tensor(3.))
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}.")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"weighted(loss, y): y must be the batch's targets as a tensor, got "
                        f"{type(y).__name__}; pass the y given to the loss function.")
    loss = torch.as_tensor(loss)
    count = losses.count(y, weight=weight, ignore_index=ignore_index)
    if reduction == "none":
        if loss.shape != per_target_shape(y):
            raise ValueError(
                f"reduction='none' gives one loss per target, shape {tuple(per_target_shape(y))}, "
                f"but the loss has shape {tuple(loss.shape)}."
            )
        return loss.sum() / count, count
    if loss.numel() != 1:
        raise ValueError(
            f"reduction={reduction!r} gives a single number, but the loss has shape "
            f"{tuple(loss.shape)}; was it computed with reduction='none'?"
        )
    return (loss, count) if reduction == "mean" else (loss / count, count)


def per_target_shape(y: torch.Tensor) -> torch.Size:
    """The shape of `reduction="none"` losses for the targets `y`.

    Class indices: one loss per entry of `y`; probability targets N×C×d…: one per row
    and position, N×d….

    Example:
        >>> per_target_shape(torch.tensor([[0, 2, -100]])), per_target_shape(torch.rand(4, 3))
        (torch.Size([1, 3]), torch.Size([4]))
    """
    if y.dtype.is_floating_point and y.dim() >= 2:
        return y.shape[:1] + y.shape[2:]
    return y.shape
