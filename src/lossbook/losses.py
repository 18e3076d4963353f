"""Cross-entropy and negative log-likelihood, written out, with the checks torch leaves out.

Taught in the chapter "Cross-entropy": `cross_entropy(logits, y)` is
`nll_loss(log_softmax(logits, dim=1), y)`, and for a label `y` the loss of a sample is
`-log p[y]`. Both functions mirror `torch.nn.functional` for N×C inputs (the same options,
but keyword-only; the same values and gradients), and bad input raises a `ValueError` that
names the problem and the fix: float or out-of-range labels, a label shape that does not
match, probabilities passed where log-probabilities are expected, or a mean over zero
samples (torch: nan).
"""

import torch

from lossbook import functional

__all__ = ["cross_entropy", "nll_loss"]

REDUCTIONS = ("mean", "sum", "none")


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, *, weight: torch.Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy between `softmax(logits)` and the labels `y`, like `F.cross_entropy`.

    Args:
        logits: N×C raw scores (not probabilities: the softmax happens here).
        y: N class indices in `0 … C-1` (int64), or N×C float probability targets.
        weight: Optional C class weights; with `reduction="mean"` the loss is divided by
            the summed weights of the targets, not by N.
        ignore_index: Class-index targets equal to it add nothing, not even to the mean's
            denominator.
        reduction: `"mean"` (one number), `"sum"` (one number) or `"none"` (N losses).
        label_smoothing: ε in [0, 1]: the target becomes `(1-ε)·onehot + ε/C`.

    Raises:
        ValueError: Float, out-of-range or mis-shaped labels, nan or +inf logits, a bad
            option, or `reduction="mean"` over zero (weighted) samples.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> cross_entropy(logits, torch.tensor([0, 2]), reduction="none")  # -log p[y]
        tensor([0.2395, 1.0986])
    """
    _check_scores(logits, "cross_entropy", "logits")
    _check_options(weight, logits, reduction, label_smoothing)
    log_probs = functional.log_softmax(logits, dim=1)
    if log_probs.isnan().any():
        raise ValueError(
            "cross_entropy: a row of logits contains +inf or is all -inf, so its softmax is undefined."
        )
    if y.dtype.is_floating_point and y.shape == logits.shape:
        return _soft_target_loss(log_probs, y, weight, ignore_index, reduction, label_smoothing)
    _check_labels(y, logits, ignore_index, "cross_entropy", "logits")
    return _class_index_loss(log_probs, y, weight, ignore_index, reduction, label_smoothing)


def nll_loss(log_probs: torch.Tensor, y: torch.Tensor, *, weight: torch.Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> torch.Tensor:
    """Negative log-likelihood `-log_probs[n, y[n]]`, like `F.nll_loss`.

    Args:
        log_probs: N×C log-probabilities, e.g. `log_softmax(logits, dim=1)`; all must be
            <= 0, which catches logits or probabilities passed by mistake.
        y: N class indices in `0 … C-1` (int64).
        weight: Optional C class weights, as in `cross_entropy`.
        ignore_index: Targets equal to it add nothing, as in `cross_entropy`.
        reduction: `"mean"`, `"sum"` or `"none"`.

    Raises:
        ValueError: As `cross_entropy`, and for positive `log_probs`.

    Example:
        >>> log_probs = torch.tensor([[-0.1, -2.4], [-1.6, -0.2]])
        >>> nll_loss(log_probs, torch.tensor([0, 0]))  # (0.1 + 1.6) / 2
        tensor(0.8500)
    """
    _check_scores(log_probs, "nll_loss", "log_probs")
    _check_options(weight, log_probs, reduction, 0.0)
    if (log_probs > 0).any():
        raise ValueError(
            f"nll_loss expects log-probabilities (all <= 0), got values up to {log_probs.max().item():.4g}; "
            "for logits use cross_entropy, or apply log_softmax(dim=1) first (not softmax)."
        )
    _check_labels(y, log_probs, ignore_index, "nll_loss", "log_probs")
    return _class_index_loss(log_probs, y, weight, ignore_index, reduction, 0.0)


def _class_index_loss(log_probs, y, weight, ignore_index, reduction, label_smoothing):
    num_classes = log_probs.shape[1]
    kept = y != ignore_index
    safe_y = torch.where(kept, y, 0).long()  # any valid index: ignored rows are zeroed below
    weight = log_probs.new_ones(num_classes) if weight is None else weight.to(log_probs.dtype)
    sample_weight = torch.where(kept, weight[safe_y], 0)
    # torch.where, not a product with 0: an ignored row may hold -inf, and -inf * 0 is nan.
    picked = log_probs.gather(1, safe_y.unsqueeze(1)).squeeze(1)
    losses = torch.where(kept, -picked * sample_weight, 0)
    if label_smoothing:
        uniform = torch.where(kept, -(log_probs * weight).sum(1) / num_classes, 0)
        losses = (1 - label_smoothing) * losses + label_smoothing * uniform
    return _reduce(losses, sample_weight.sum(), reduction)


def _soft_target_loss(log_probs, y, weight, ignore_index, reduction, label_smoothing):
    if ignore_index != -100:
        raise ValueError("ignore_index only applies to class-index targets, not to probability targets.")
    if (y < 0).any() or not torch.allclose(y.sum(1), y.new_ones(()).expand(len(y)), atol=1e-3):
        raise ValueError(
            "probability targets must be >= 0 with rows summing to 1; for class labels pass "
            "N integer indices (y.long()), not an N×C float tensor."
        )
    num_classes = log_probs.shape[1]
    y = y * (1 - label_smoothing) + label_smoothing / num_classes
    if weight is not None:
        y = y * weight.to(log_probs.dtype)
    losses = -(log_probs * y).sum(1)
    # torch divides by N here, whatever the weights: they have no single per-sample value.
    return _reduce(losses, losses.new_tensor(float(len(losses))), reduction)


def _reduce(losses: torch.Tensor, total_weight: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if total_weight == 0:
        raise ValueError(
            "reduction='mean' divides by the (weighted) number of targets, which is 0 here: the batch "
            "is empty, every label equals ignore_index, or their class weights are 0 (torch returns "
            "nan); use reduction='sum', or skip this batch."
        )
    return losses.sum() / total_weight


def _check_scores(scores: torch.Tensor, name: str, what: str) -> None:
    if not isinstance(scores, torch.Tensor) or scores.dim() != 2:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(
            f"{name} expects N×C {what} (one row per sample), got {shape}; "
            "for a single sample use .unsqueeze(0)."
        )
    if not scores.dtype.is_floating_point:
        raise ValueError(f"{name}: {what} must be floating point, got {scores.dtype}; convert with .float().")
    if scores.isnan().any():
        raise ValueError(f"{name}: {what} contain nan; the model has diverged (try a smaller lr).")


def _check_options(weight, scores, reduction, label_smoothing) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}.")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}.")
    if weight is not None and weight.shape != (scores.shape[1],):
        raise ValueError(
            f"weight must hold one value per class, shape ({scores.shape[1]},), got {tuple(weight.shape)}."
        )


def _check_labels(y: torch.Tensor, scores: torch.Tensor, ignore_index: int, name: str, what: str) -> None:
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.dtype.is_complex:
        raise ValueError(
            f"{name}: labels must be integer class indices, got {y.dtype}; convert with y.long()."
        )
    if y.shape != scores.shape[:1]:
        raise ValueError(
            f"{name}: {what} of shape {tuple(scores.shape)} need labels of shape ({len(scores)},), "
            f"got {tuple(y.shape)}; use y.view(-1) if y is N×1."
        )
    labels = y[y != ignore_index]
    num_classes = scores.shape[1]
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name}: labels must be in 0 … {num_classes - 1} ({what} has {num_classes} columns), "
            f"got values from {labels.min().item()} to {labels.max().item()}; labels starting at 1 "
            "need y - 1, else give the model one output per class."
        )


def count(y: torch.Tensor, *, weight: torch.Tensor | None = None, ignore_index: int = -100) -> torch.Tensor:
    """What `reduction="mean"` divides by: the targets that count, or their summed class weights.

    Example:
        >>> count(torch.tensor([0, 2, -100, 1]))
        tensor(3.)
    """
    if y.dtype.is_floating_point and y.dim() >= 2:  # probability targets: every row and position
        return torch.tensor(y.numel() // y.shape[1], dtype=y.dtype, device=y.device)
    kept = y != ignore_index
    if weight is None:
        return kept.sum().to(torch.get_default_dtype())
    return torch.where(kept, weight[torch.where(kept, y, 0)], 0).sum()
