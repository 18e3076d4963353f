"""Metrics as running sums: per-sample mean loss and accuracy over a whole epoch.

Taught in the chapter "Averaging loss and accuracy"; used by every training loop after it.
A metric's state is a few sums (float64, so 60,000 additions lose nothing); `update()`
adds a batch, `compute()` divides once at the end, `reset()` starts a new epoch.
"""

import torch

Number = float | int | torch.Tensor


class Mean:
    """Weighted running mean: `sum(value * weight) / sum(weight)`.

    Feed it a batch's mean loss with the batch size as weight, or per-sample losses
    (`reduction="none"`) with the default weight 1, and `compute()` is the mean over
    samples, however the batches were sized. Values are detached, so accumulating a
    loss never keeps its autograd graph alive.

    Example:
        >>> m = Mean()
        >>> m.update(torch.tensor(2.0), weight=10)  # a full batch of 10, mean loss 2
        >>> m.update(torch.tensor(5.0), weight=5)   # the last batch: 5 samples, mean 5
        >>> m.compute()                             # (20 + 25) / 15, not (2 + 5) / 2
        3.0
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Forget every update."""
        self.total = torch.zeros((), dtype=torch.float64)
        self.weight = torch.zeros((), dtype=torch.float64)

    def update(self, value: Number, weight: Number = 1.0) -> None:
        """Add `value` (a number or a tensor of per-sample values) with its `weight`."""
        value = torch.as_tensor(value).detach().to("cpu", torch.float64)
        weight = torch.as_tensor(weight).detach().to("cpu", torch.float64).expand_as(value)
        if (weight < 0).any():
            raise ValueError("Mean.update: weights must be >= 0.")
        self.total += (value * weight).sum()
        self.weight += weight.sum()

    def compute(self) -> float:
        """The weighted mean of everything seen since the last `reset()`."""
        return _ratio(self.total, self.weight, "Mean")


class Accuracy:
    """Fraction of samples whose predicted class equals the target.

    Example:
        >>> acc = Accuracy()
        >>> acc.update(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]))  # logits
        >>> acc.update(torch.tensor([1]), torch.tensor([1]))                          # classes
        >>> acc.compute()
        0.6666666666666666
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Forget every update."""
        self.correct = torch.zeros((), dtype=torch.int64)
        self.total = torch.zeros((), dtype=torch.int64)

    def update(self, logits_or_preds: torch.Tensor, target: torch.Tensor) -> None:
        """Count a batch: `logits_or_preds` is N×C scores or N predicted classes."""
        preds = _predicted_classes(logits_or_preds, target)
        self.correct += (preds == target).sum().cpu()
        self.total += target.numel()

    def compute(self) -> float:
        """Correct predictions / samples seen since the last `reset()`."""
        return _ratio(self.correct, self.total, "Accuracy")


def weighted(loss: torch.Tensor, batch_size: int, reduction: str = "mean"):
    """Turn a batch loss into the `(value, weight)` pair that `Mean.update` wants.

    Args:
        loss: The loss as returned by a loss function with this `reduction`.
        batch_size: Samples in the batch, `len(y)`.
        reduction: `"mean"`, `"sum"` or `"none"`, as given to the loss function.

    Example:
        >>> weighted(torch.tensor(12.0), 4, reduction="sum")
        (tensor(3.), 4)
    """
    if reduction == "mean":
        return loss, batch_size
    if reduction == "sum":
        return loss / batch_size, batch_size
    if reduction == "none":
        return loss, 1
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}.")


def _predicted_classes(logits_or_preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if target.dtype.is_floating_point or target.dtype == torch.bool:
        raise ValueError(
            f"Accuracy: target must hold integer class labels, got {target.dtype}; "
            "convert with target.long()."
        )
    if logits_or_preds.dim() == target.dim() + 1:
        logits_or_preds = logits_or_preds.argmax(dim=1)
    if logits_or_preds.shape != target.shape:
        raise ValueError(
            f"Accuracy: predictions of shape {tuple(logits_or_preds.shape)} do not match "
            f"target of shape {tuple(target.shape)}; pass N×C logits or N class indices."
        )
    return logits_or_preds


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor, name: str) -> float:
    if denominator == 0:
        raise ValueError(f"{name}.compute() called before any update(): there is nothing to average.")
    return (numerator.double() / denominator).item()
