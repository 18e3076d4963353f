"""Cross-entropy and negative log-likelihood, written out, with the checks torch leaves out.

Taught in the chapter "Cross-entropy": `cross_entropy(logits, y)` is
`nll_loss(log_softmax(logits, dim=1), y)`, and for a label `y` the loss of a sample is
`-log p[y]`. Both functions mirror `torch.nn.functional` (the same options, but
keyword-only; the same values and gradients) for N×C scores, for N×C×d₁×…×d_k scores with
a label at every position (sequences: N×C×T; images: N×C×H×W), and for one sample's C
scores with a 0-dim label. Bad input raises an error that names the problem and the fix:
non-tensor input, float or out-of-range labels, a label shape that does not match,
a positive log-probability, or a mean over zero targets (torch: nan).
"""

import torch

from lossbook import functional
from lossbook.losses import checks
from lossbook.losses.checks import IGNORE_INDEX
from lossbook.losses.count import target_weights

__all__ = ["cross_entropy", "nll_loss"]


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, *, weight: torch.Tensor | None = None,
                  ignore_index: int = IGNORE_INDEX, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy between `softmax(logits, dim=1)` and the labels `y`, like `F.cross_entropy`.

    Args:
        logits: N×C raw scores (not probabilities: the softmax happens here), or
            N×C×d₁×…×d_k with the classes in dim 1 (N×C×T for sequences), or one sample's C
            scores.
        y: Class indices in `0 … C-1` (integers) of the scores' shape without dim 1 (N, or
            N×d₁×…×d_k, or 0-dim for one sample), or float probability targets of the
            scores' shape.
        weight: Optional C class weights; with `reduction="mean"` the loss is divided by
            the summed weights of the targets, not by their number.
        ignore_index: Class-index targets equal to it add nothing, not even to the mean's
            denominator.
        reduction: `"mean"` (one number: the sum divided by `count(y, ...)`), `"sum"`, or
            `"none"` (one loss per target, of `y`'s shape for class indices).
        label_smoothing: ε in [0, 1]: the target becomes `(1-ε)·onehot + ε/C`.

    Raises:
        TypeError: `logits`, `y` or `weight` is not a tensor.
        ValueError: Float, out-of-range or mis-shaped labels, nan or +inf logits, a bad
            option, or `reduction="mean"` over zero (weighted) targets.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> cross_entropy(logits, torch.tensor([0, 2]), reduction="none")  # -log p[y]
        tensor([0.2395, 1.0986])
        >>> steps = torch.zeros(1, 3, 2)  # one sequence: 3 classes at each of 2 steps
        >>> cross_entropy(steps, torch.tensor([[1, -100]]), reduction="none")  # padding costs 0
        tensor([[1.0986, 0.0000]])
    """
    _check_types("cross_entropy", logits, y, weight, "logits")
    unbatched = checks.is_unbatched(logits, y)
    checks.check_scores(logits, y, unbatched, "cross_entropy", "logits")
    logits, y = (logits.unsqueeze(0), y.unsqueeze(0)) if unbatched else (logits, y)
    checks.check_options(weight, logits.shape[1], reduction, label_smoothing)
    checks.check_weight_device(weight, logits, "cross_entropy", "logits")
    log_probs = functional.log_softmax(logits, dim=1)
    if log_probs.isnan().any():
        raise ValueError(
            "cross_entropy: a row of logits (the C scores of one target, along dim 1) contains +inf or "
            "is all -inf, so its softmax is undefined."
        )
    if y.dtype.is_floating_point and y.shape == logits.shape:
        checks.check_probabilities(y, logits, ignore_index, unbatched)
        loss = _soft_target_loss(log_probs, y, weight, reduction, label_smoothing)
    else:
        checks.check_labels(y, logits, ignore_index, "cross_entropy", "logits")
        loss = _class_index_loss(log_probs, y, weight, ignore_index, reduction, label_smoothing)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def nll_loss(log_probs: torch.Tensor, y: torch.Tensor, *, weight: torch.Tensor | None = None,
             ignore_index: int = IGNORE_INDEX, reduction: str = "mean") -> torch.Tensor:
    """Negative log-likelihood `-log_probs[n, y[n]]` (at every position), like `F.nll_loss`.

    Args:
        log_probs: N×C or N×C×d₁×…×d_k log-probabilities, e.g.
            `log_softmax(logits, dim=1)`, or one sample's C. All must be <= 0: a
            positive entry shows that logits or probabilities were passed by mistake.
            Logits that happen to be all <= 0 pass this check unnoticed.
        y: Class indices in `0 … C-1` (integers) of `log_probs`' shape without dim 1.
        weight: Optional C class weights, as in `cross_entropy`.
        ignore_index: Targets equal to it add nothing, as in `cross_entropy`.
        reduction: `"mean"`, `"sum"` or `"none"`.

    Raises:
        TypeError: As `cross_entropy`.
        ValueError: As `cross_entropy`, and for any positive entry of `log_probs`.

    Example:
        >>> log_probs = torch.tensor([[-0.1, -2.4], [-1.6, -0.2]])
        >>> nll_loss(log_probs, torch.tensor([0, 0]))  # (0.1 + 1.6) / 2
        tensor(0.8500)
    """
    _check_types("nll_loss", log_probs, y, weight, "log_probs")
    unbatched = log_probs.dim() == 1 and y.dim() == 0
    checks.check_scores(log_probs, y, unbatched, "nll_loss", "log_probs")
    log_probs, y = (log_probs.unsqueeze(0), y.unsqueeze(0)) if unbatched else (log_probs, y)
    checks.check_options(weight, log_probs.shape[1], reduction, 0.0)
    checks.check_weight_device(weight, log_probs, "nll_loss", "log_probs")
    if (log_probs > 0).any():
        raise ValueError(
            f"nll_loss expects log-probabilities (all <= 0), got values up to {log_probs.max().item():.4g}; "
            "for logits use cross_entropy, or apply log_softmax(dim=1) first (not softmax). (Only a "
            "positive entry shows the mistake: logits that are all <= 0 would pass unnoticed.)"
        )
    checks.check_labels(y, log_probs, ignore_index, "nll_loss", "log_probs")
    loss = _class_index_loss(log_probs, y, weight, ignore_index, reduction, 0.0)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def _check_types(name, scores, y, weight, what) -> None:
    checks.check_tensor(scores, name, what, f"torch.tensor({what})")
    checks.check_tensor(y, name, "labels", "torch.tensor(y)")
    if weight is not None:
        checks.check_tensor(weight, name, "weight", "torch.tensor(weight)")


def _class_index_loss(log_probs, y, weight, ignore_index, reduction, label_smoothing):
    kept, safe_y, target_weight = target_weights(y, weight, ignore_index, log_probs.dtype)
    picked = log_probs.gather(1, safe_y.unsqueeze(1)).squeeze(1)
    # torch.where, not a product with 0: an ignored target may hold -inf, and -inf * 0 is nan.
    losses = torch.where(kept, -picked * target_weight, 0)
    if label_smoothing:
        num_classes = log_probs.shape[1]
        uniform = -(log_probs * _class_weights(weight, log_probs)).sum(1) / num_classes
        losses = (1 - label_smoothing) * losses + label_smoothing * torch.where(kept, uniform, 0)
    return _reduce(losses, target_weight.sum(), reduction)


def _soft_target_loss(log_probs, y, weight, reduction, label_smoothing):
    y = y * (1 - label_smoothing) + label_smoothing / log_probs.shape[1]
    losses = -(log_probs * y * _class_weights(weight, log_probs)).sum(1)
    # torch divides by N·d₁·…·d_k here, whatever the weights: a target has no single class weight.
    return _reduce(losses, losses.numel(), reduction)


def _class_weights(weight, log_probs):
    """The C class weights (or ones), shaped C×1×…×1 to broadcast along dim 1 of `log_probs`."""
    shape = (-1,) + (1,) * (log_probs.dim() - 2)
    if weight is None:
        return log_probs.new_ones(log_probs.shape[1]).view(shape)
    return weight.to(log_probs.dtype).view(shape)


def _reduce(losses: torch.Tensor, total_weight: torch.Tensor | int, reduction: str) -> torch.Tensor:
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
