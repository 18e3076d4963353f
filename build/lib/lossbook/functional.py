"""Softmax, log-softmax and log-sum-exp, written out and numerically stable.

Taught in the chapter "Softmax"; the chapter "Cross-entropy" builds its loss on
`log_softmax`. Each function takes `dim` like its torch counterpart and agrees with
`torch.softmax`, `torch.log_softmax` and `torch.logsumexp` to float rounding, also on
logits in the thousands, where the textbook formula `exp(z) / exp(z).sum()` gives nan.

The one trick: subtracting a row's maximum from every entry changes nothing
mathematically (the factor `exp(-max)` cancels) but makes the largest exponent 0, so
`exp` can neither overflow nor make every term 0. An empty input has no maximum and
nothing to overflow: it gets torch's answer, an empty tensor (and `-inf`, the log of an
empty sum, from `logsumexp` over an empty dimension).
"""

import torch

__all__ = ["log_softmax", "logsumexp", "softmax"]


def softmax(logits: torch.Tensor, dim: int) -> torch.Tensor:
    """Turn scores into probabilities along `dim`: `exp(z) / exp(z).sum(dim)`, computed stably.

    Args:
        logits: Floating-point scores, any shape.
        dim: The dimension that holds the classes (1 for an N×C batch).

    Returns:
        A tensor of `logits`' shape: non-negative, summing to 1 along `dim`.

    Example:
        >>> softmax(torch.tensor([[1000.0, 1000.0], [0.0, 0.0]]), dim=1)
        tensor([[0.5000, 0.5000],
                [0.5000, 0.5000]])
    """
    exps = _shifted(logits, dim, "softmax").exp()
    return exps / exps.sum(dim, keepdim=True)


def log_softmax(logits: torch.Tensor, dim: int) -> torch.Tensor:
    """The log of `softmax(logits, dim)`, without ever forming the (possibly 0) probabilities.

    `log(softmax(z))` turns a probability that underflowed to 0 into -inf (and its
    gradient into nan); `z - m - log(sum(exp(z - m)))` stays finite.

    Args:
        logits: Floating-point scores, any shape.
        dim: The dimension that holds the classes (1 for an N×C batch).

    Returns:
        Log-probabilities (all <= 0) of `logits`' shape.

    Example:
        >>> log_softmax(torch.tensor([[0.0, -200.0]]), dim=1)  # softmax underflows to [1, 0]
        tensor([[   0., -200.]])
    """
    shifted = _shifted(logits, dim, "log_softmax")
    # `shifted - log(sum)` rather than `logits - logsumexp(logits)`: adding the max back
    # first would round it at the scale of the logits (0.001 for logits near 10,000).
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


def logsumexp(x: torch.Tensor, dim: int | tuple[int, ...], keepdim: bool = False) -> torch.Tensor:
    """`log(exp(x).sum(dim))` computed as `m + log(exp(x - m).sum(dim))` with `m` the maximum.

    Args:
        x: A floating-point tensor.
        dim: The dimension or dimensions to reduce.
        keepdim: Keep the reduced dimensions, with size 1, as `torch.logsumexp` does.

    Returns:
        A value between `max(x)` and `max(x) + log(n)` for `n` reduced entries.

    Example:
        >>> x = torch.tensor([1000.0, 1000.0], dtype=torch.float64)
        >>> logsumexp(x, dim=0), x.exp().sum().log()  # 1000 + log(2), and the naive formula
        (tensor(1000.6931, dtype=torch.float64), tensor(inf, dtype=torch.float64))
    """
    _check_floating(x, "logsumexp")
    if isinstance(dim, (tuple, list)) and not dim:
        # torch reads an empty tuple as every dimension (as sum and amax do); squeeze would not.
        dim = tuple(range(x.ndim))
    shift = _maximum(x, dim)
    # An infinite maximum would make x - shift nan; shifting by 0 instead gives -inf for an
    # all -inf input and +inf when some entry is +inf, the exact answers (and torch's).
    shift = torch.where(shift.isinf(), torch.zeros_like(shift), shift)
    out = (x - shift).exp().sum(dim, keepdim=True).log() + shift
    return out if keepdim else out.squeeze(dim)


def _shifted(logits: torch.Tensor, dim: int, name: str) -> torch.Tensor:
    """`logits` minus their maximum along `dim`, so that the largest entry is 0."""
    _check_floating(logits, name)
    return logits - _maximum(logits, dim)


def _maximum(x: torch.Tensor, dim: int | tuple[int, ...]) -> torch.Tensor:
    """The shift: `x`'s maximum along `dim`, kept as a size-1 dimension; 0 for an empty `x`."""
    if x.numel() == 0:
        # amax raises on an empty reduction, and there is nothing to overflow: shift by 0.
        # (numel is the shape's product, known without waiting for the device.)
        return x.new_zeros(())
    # The shift is a constant of our choosing, not part of the function: detaching it
    # keeps torch from spreading gradient over tied maxima that would cancel anyway.
    return x.detach().amax(dim, keepdim=True)


def _check_floating(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} expects a torch.Tensor, got {type(x).__name__}; use torch.tensor(...).")
    if not x.dtype.is_floating_point:
        raise ValueError(f"{name} needs floating-point scores, got {x.dtype}; convert with .float().")
