"""Metrics as running sums: per-sample mean loss and accuracy over a whole epoch.

Taught in the chapter "Averaging loss and accuracy"; used by every training loop after it.
A metric's state is a few sums (float64, so 60,000 additions lose nothing); `update()`
adds a batch, `compute()` divides once at the end, `reset()` starts a new epoch.

Several processes: `compute(distributed=True)` adds the sums of every process of the
default `torch.distributed` process group before dividing, so each process gets the
metric over all the samples any of them saw. It all-reduces a *copy* of the sums and
never changes the state: calling it twice, or updating after it, counts nothing twice.
(Adding the other processes' sums into the state itself would make a second call add
every process's already-global sums again: `world_size` times the right totals.) It is
a collective: every process calls it, for the same metrics in the same order, even one
that saw no samples (its sums are zero).
"""

import torch
import torch.distributed as dist

Number = float | int | torch.Tensor


class Mean:
    """Weighted running mean: `sum(value * weight) / sum(weight)`.

    Feed it a batch's mean loss with the batch size as weight, or per-sample losses
    (`reduction="none"`) with the default weight 1, and `compute()` is the mean over
    samples, however the batches were sized. Values are detached, so accumulating a
    loss never keeps its autograd graph alive. A NaN value makes the mean NaN: a loss
    that diverged should show.

    Example:
        >>> m = Mean()
        >>> m.update(torch.tensor(2.0), weight=10)  # a full batch of 10, mean loss 2
        >>> m.update(torch.tensor(5.0), weight=5)   # the last batch: 5 samples, mean 5
        >>> m.compute()                             # (20 + 25) / 15, not (2 + 5) / 2
        3.0
        >>> m
        Mean(total=45.0, weight=15.0)
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Forget every update."""
        self.total = torch.zeros((), dtype=torch.float64)
        self.weight = torch.zeros((), dtype=torch.float64)

    def update(self, value: Number, weight: Number = 1.0) -> None:
        """Add `value` (a number or a tensor of per-sample values) with its `weight`.

        `weight` is one number for all values or a tensor of the same shape as `value`.
        """
        value = torch.as_tensor(value).detach().to("cpu", torch.float64)
        weight = torch.as_tensor(weight).detach().to("cpu", torch.float64)
        if weight.numel() == 1:
            weight = weight.reshape(()).expand_as(value)
        elif weight.shape != value.shape:
            raise ValueError(
                f"Mean.update: weight of shape {tuple(weight.shape)} does not match value of "
                f"shape {tuple(value.shape)}; pass one weight per value or a single number."
            )
        bad = weight[~(torch.isfinite(weight) & (weight >= 0))]
        if bad.numel():
            raise ValueError(f"Mean.update: weights must be finite and >= 0, got {bad[0].item()}.")
        self.total += (value * weight).sum()
        self.weight += weight.sum()

    def compute(self, distributed: bool = False) -> float:
        """The weighted mean of everything seen since the last `reset()`.

        Args:
            distributed: Average over the updates of every process in the default process
                group (see the module docstring). A collective: every process must call it.
                Without an initialized process group it is the local mean.
        """
        total, weight = _summed_over_processes(self.total, self.weight, distributed)
        return _ratio(total, weight, "Mean", "or every weight was 0")

    def __repr__(self) -> str:
        return f"Mean(total={self.total.item()}, weight={self.weight.item()})"


class Accuracy:
    """Fraction of samples whose predicted class equals the target.

    Example:
        >>> acc = Accuracy()
        >>> acc.update(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]))  # logits
        >>> acc.update(torch.tensor([1]), torch.tensor([1]))                          # classes
        >>> acc.compute()
        0.6666666666666666
        >>> acc
        Accuracy(correct=2, total=3)
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

    def compute(self, distributed: bool = False) -> float:
        """Correct predictions / samples seen since the last `reset()`.

        Args:
            distributed: Count the samples of every process in the default process group
                (see the module docstring). A collective: every process must call it.
                Without an initialized process group it is the local accuracy.
        """
        correct, total = _summed_over_processes(self.correct, self.total, distributed)
        return _ratio(correct, total, "Accuracy", "or only with empty batches")

    def __repr__(self) -> str:
        return f"Accuracy(correct={self.correct.item()}, total={self.total.item()})"


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
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer (len(y)), got {batch_size!r}.")
    loss = torch.as_tensor(loss)
    if reduction == "none":
        if loss.numel() != batch_size:
            raise ValueError(
                f"reduction='none' gives one loss per sample, but the loss has {loss.numel()} "
                f"values for batch_size={batch_size}."
            )
        return loss, 1
    if loss.numel() != 1:
        raise ValueError(
            f"reduction={reduction!r} gives a single number, but the loss has shape "
            f"{tuple(loss.shape)}; was it computed with reduction='none'?"
        )
    return (loss, batch_size) if reduction == "mean" else (loss / batch_size, batch_size)


def _predicted_classes(logits_or_preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
        raise ValueError(
            f"Accuracy: target must hold integer class labels, got {target.dtype}; "
            "convert with target.long()."
        )
    if target.dim() == 0:
        raise ValueError("Accuracy: target must be a batch of labels, got a single number; "
                         "use target.reshape(1).")
    preds = logits_or_preds
    if logits_or_preds.dim() == target.dim() + 1:
        preds = logits_or_preds.argmax(dim=1)
    if preds.shape != target.shape:
        raise ValueError(
            f"Accuracy: predictions of shape {tuple(logits_or_preds.shape)} do not match "
            f"target of shape {tuple(target.shape)}; pass N×C logits or N class indices."
        )
    if preds is not logits_or_preds:
        _check_labels_fit(logits_or_preds.shape[1], target)
    elif preds.dtype.is_floating_point or preds.dtype == torch.bool:
        # Probabilities or 0/1 floats compared with labels would count (almost) nothing.
        raise ValueError(
            f"Accuracy: predictions shaped like the target must be integer class indices, "
            f"got {preds.dtype}; pass N×C logits or preds = logits.argmax(dim=1)."
        )
    return preds


def _check_labels_fit(num_classes: int, target: torch.Tensor) -> None:
    if target.numel() and not 0 <= int(target.min()) <= int(target.max()) < num_classes:
        raise ValueError(
            f"Accuracy: target holds labels from {int(target.min())} to {int(target.max())}, "
            f"but the logits have {num_classes} classes (labels 0 to {num_classes - 1})."
        )


def _summed_over_processes(a: torch.Tensor, b: torch.Tensor, distributed: bool):
    """`(a, b)` added over every process if `distributed`; the state itself never changes."""
    if not isinstance(distributed, bool):
        raise TypeError(f"distributed must be True or False, got {distributed!r}.")
    if not (distributed and dist.is_available() and dist.is_initialized()):
        return a, b
    # NCCL only reduces GPU tensors; gloo (and the CPU side of mixed groups) CPU ones.
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    sums = torch.stack([a, b]).to(device)  # A new tensor: all_reduce adds into it in place.
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)
    return sums[0].cpu(), sums[1].cpu()


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor, name: str, or_else: str) -> float:
    if denominator == 0:
        raise ValueError(
            f"{name}.compute() called before any update() ({or_else}): there is nothing to average."
        )
    return (numerator.double() / denominator).item()
