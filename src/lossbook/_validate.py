"""The argument checks that several modules share, each written once, each with a message that says the fix.

Not taught: the chapters meet these messages through `losses`, `metrics`, `train`,
`data` and the command line, which all call the functions here.

Example:
    >>> positive_int("batch_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive integer, got 0.
    >>> without_classes(torch.Size([8, 10, 5]))  # N×C×T scores: one target per sample and step
    torch.Size([8, 5])
"""

import torch

REDUCTIONS = ("mean", "sum", "none")


def positive_int(name: str, value, *, allow_none: bool = False, minimum: int = 1) -> None:
    """A `ValueError` unless `value` is an integer >= `minimum` (or None, if allowed); bools are refused."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}.")


def reduction(value: str) -> None:
    """A `ValueError` unless `value` is one of torch's reductions: "mean", "sum", "none"."""
    if value not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {value!r}.")


def one_of(name: str, value, choices: tuple) -> None:
    """A `ValueError` unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}.")


def without_classes(shape: torch.Size) -> torch.Size:
    """`shape` without dim 1, the classes: the shape of the targets of N×C×d… scores.

    Also the shape of per-target losses for N×C×d… probability targets.
    """
    return torch.Size(shape[:1] + shape[2:])


def per_target_shape(y: torch.Tensor) -> torch.Size:
    """The shape of `reduction="none"` losses for the targets `y`.

    Class indices: one loss per entry of `y`; probability targets N×C×d…: one per row
    and position, N×d….

    Example:
        >>> per_target_shape(torch.tensor([[0, 2, -100]])), per_target_shape(torch.rand(4, 3))
        (torch.Size([1, 3]), torch.Size([4]))
    """
    if y.dtype.is_floating_point and y.dim() >= 2:
        return without_classes(y.shape)
    return y.shape


def is_class_indices(y: torch.Tensor) -> bool:
    """Whether `y` holds integer class labels (not floats, complex numbers or bools)."""
    return not (y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool)
