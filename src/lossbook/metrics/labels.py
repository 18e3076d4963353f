"""What the classification metrics check about scores, predicted classes and targets.

Shared by `Accuracy` (chapter 3), `ConfusionMatrix` and `CalibrationError` (chapter 7):
integer targets, which of them count (`ignore_index`), scores of shape N×C(×d…) against
targets N(×d…), and a clear message for labels outside `0 … C-1`.
"""

import torch

from lossbook import _validate


def check_types(name: str, logits_or_preds: torch.Tensor, target: torch.Tensor) -> None:
    """Raise a clear error for non-tensors, non-integer targets or probabilities as classes."""
    if not (isinstance(logits_or_preds, torch.Tensor) and isinstance(target, torch.Tensor)):
        raise TypeError(f"{name}.update takes tensors, got {type(logits_or_preds).__name__} and "
                        f"{type(target).__name__}; use torch.tensor(...).")
    if not _validate.is_class_indices(target):
        raise ValueError(
            f"{name}: target must hold integer class labels, got {target.dtype}; "
            "convert with target.long()."
        )
    if target.dim() == 0:
        raise ValueError(f"{name}: target must be a batch of labels, got a single number; "
                         "use target.reshape(1).")
    if logits_or_preds.shape == target.shape and (
            logits_or_preds.dtype.is_floating_point or logits_or_preds.dtype == torch.bool):
        # Probabilities or 0/1 floats compared with labels would count (almost) nothing.
        raise ValueError(
            f"{name}: predictions shaped like the target must be integer class indices, got "
            f"{logits_or_preds.dtype}; pass the N×C logits as they are, or, for a binary model with "
            "one logit per sample, preds = (logits > 0).long()."
        )


def is_scores(logits_or_preds: torch.Tensor, target: torch.Tensor) -> bool:
    """True for N×C(×d…) scores against N(×d…) targets (one score per class in dim 1)."""
    return logits_or_preds.dim() == target.dim() + 1 \
        and _validate.without_classes(logits_or_preds.shape) == target.shape


def counted(target: torch.Tensor, ignore_index: int | None) -> torch.Tensor:
    """The targets that count: those not equal to `ignore_index` (all of them if it is None)."""
    if ignore_index is None:
        return torch.ones_like(target, dtype=torch.bool)
    return target != ignore_index


def outside(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Where `labels` are not a class index `0 … num_classes-1`."""
    return (labels < 0) | (labels >= num_classes)


def bad_labels(name: str, labels: torch.Tensor, num_classes: int, ignore_index: int | None,
               what: str = "target", classes: str = "the logits have") -> str:
    """The message for labels outside `0 … num_classes-1` (`labels`: the counted ones)."""
    low, high = int(labels.min()), int(labels.max())
    message = (f"{name}: {what} holds labels from {low} to {high}, but {classes} "
               f"{num_classes} classes (labels 0 to {num_classes - 1})")
    if low < 0 and what == "target":
        message += f"; to skip padding, use {name}(ignore_index={low})"
    return message + "."
