"""`count(y)`: what a batch counts for, the number that `reduction="mean"` divides by.

Taught in chapter 6, "Averaging when samples don't count the same": an epoch's loss is
`sum(batch_mean * count) / sum(count)` over its batches, and with class weights or
ignored targets the count is not `len(y)`.
"""

import math

import torch

from lossbook.losses import checks
from lossbook.losses.checks import IGNORE_INDEX


def count(y: torch.Tensor, *, weight: torch.Tensor | None = None,
          ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """The number that `reduction="mean"` divides by for the targets `y`: `sum / count` is the mean.

    Class indices (integer `y`, any shape): the number of targets not equal to
    `ignore_index`, or with `weight` the sum of their class weights. Probability targets
    (float `y` of N×C×d₁×… scores' shape): the number of samples times positions,
    N·d₁·…·d_k, whatever the weights, as in torch. Combining batches as
    `sum(batch_mean * count) / sum(count)` gives the loss over all their targets; a batch
    whose targets are all ignored has count 0 (and a nan mean in torch, which that batch
    must skip). Labels are not checked here: the loss does that.

    Never synchronises with the GPU (no `.item()`, no branch on values), so it can run
    every step.

    Args:
        y: Targets, as `cross_entropy` takes them.
        weight: Optional class weights, as `cross_entropy` takes them.
        ignore_index: As in `cross_entropy`.

    Returns:
        A 0-dim tensor on `y`'s device: int64 (exact for any number of targets), or
        float64 with `weight` (a sum of class weights).

    Raises:
        TypeError: `y` or `weight` is not a tensor.
        ValueError: Float targets of fewer than 2 dims, bool labels, a weight that is not
            1-D, or `ignore_index` with probability targets.

    Example:
        >>> from lossbook.losses import cross_entropy
        >>> y = torch.tensor([[0, 2, -100], [1, -100, -100]])  # 2 sequences, padded with -100
        >>> count(y), count(y, weight=torch.tensor([1.0, 2.0, 0.5]))
        (tensor(3), tensor(3.5000, dtype=torch.float64))
        >>> logits = torch.randn(2, 3, 3)
        >>> batches = [(logits[:1], y[:1]), (logits[1:], y[1:])]  # 2 targets, then 1
        >>> epoch = sum(cross_entropy(z, t) * count(t) for z, t in batches) / count(y)
        >>> torch.allclose(epoch, cross_entropy(logits, y))  # one call over all 3 targets
        True
    """
    checks.check_count_targets(y, weight, ignore_index)
    if y.is_floating_point():
        # torch.full, not torch.tensor: copying a number to the GPU would wait for it.
        return torch.full((), math.prod(checks.label_shape(y)), dtype=torch.int64, device=y.device)
    if weight is None:
        return (y != ignore_index).sum()
    return target_weights(y, weight, ignore_index, torch.float64)[2].sum()


def target_weights(y: torch.Tensor, weight: torch.Tensor | None, ignore_index: int, dtype: torch.dtype):
    """Which targets count, a valid index for each, and each target's weight (0 if ignored)."""
    kept = y != ignore_index
    safe_y = torch.where(kept, y, 0).long()  # any valid index: ignored targets are zeroed
    if weight is None:
        return kept, safe_y, kept.to(dtype)
    return kept, safe_y, torch.where(kept, weight.to(dtype)[safe_y], 0)
