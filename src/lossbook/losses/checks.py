"""The input checks of `lossbook.losses`, each raising an error that names the problem and the fix.

Used by the functions of `lossbook.losses`; the chapter "Cross-entropy" shows these messages.
The checks that look at values (nan, label range, probabilities) synchronise with the GPU
once each; they only run inside the loss functions, never in `losses.count`.

Example:
    >>> check_options(None, 3, "average", 0.0)
    Traceback (most recent call last):
    ...
    ValueError: reduction must be 'mean', 'sum' or 'none', got 'average'.
"""

import math

import torch

from lossbook import _validate

# torch's default `ignore_index`, and the one default of every `ignore_index` in lossbook.
IGNORE_INDEX = -100


def check_tensor(x, name: str, what: str, fix: str) -> None:
    """A `TypeError` unless `x` is a tensor: a list or an array would fail later, on `.dtype`."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: {what} must be a torch.Tensor, got {type(x).__name__}; use {fix}.")


def is_unbatched(scores: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether `scores`, `y` are one sample's C scores and its label (or C probabilities), as torch allows."""
    return scores.dim() == 1 and (y.dim() == 0 or (y.is_floating_point() and y.shape == scores.shape))


def check_scores(scores: torch.Tensor, y: torch.Tensor, unbatched: bool, name: str, what: str) -> None:
    """Scores must be N×C or N×C×d₁×… (or 1-D if `unbatched`), floating point and nan-free."""
    if scores.dim() == 0 or (scores.dim() == 1 and not unbatched):
        message = (
            f"{name} expects N×C {what} (one row per sample; N×C×d₁×… for sequences or images), "
            f"got {tuple(scores.shape)}; for a single sample use .unsqueeze(0)"
        )
        if scores.dim() == 1:
            message += " (or give its label as a 0-dim tensor, as torch allows)"
            if y.shape == scores.shape and len(y) > 1:
                message += ("; one score per sample means two classes: give the model 2 outputs, "
                            "or use F.binary_cross_entropy_with_logits")
        raise ValueError(message + ".")
    if not scores.dtype.is_floating_point:
        raise ValueError(f"{name}: {what} must be floating point, got {scores.dtype}; convert with .float().")
    if scores.isnan().any():
        raise ValueError(f"{name}: {what} contain nan; the model has diverged (try a smaller lr).")


def check_options(weight: torch.Tensor | None, num_classes: int, reduction: str,
                  label_smoothing: float) -> None:
    """The keyword options: `reduction`, `label_smoothing` in [0, 1], one weight per class."""
    _validate.reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}.")
    if weight is not None and weight.shape != (num_classes,):
        raise ValueError(
            f"weight must hold one value per class, shape ({num_classes},), got {tuple(weight.shape)}."
        )


def check_weight_device(weight: torch.Tensor | None, x: torch.Tensor, name: str, what: str) -> None:
    """The class weights must be on the device of the scores or labels, as torch requires.

    Copying them over at every call would make each call wait for the copy.
    """
    if weight is not None and weight.device != x.device:
        raise ValueError(
            f"{name}: weight is on {weight.device} but the {what} are on {x.device}; move it there once, "
            "before the training loop: weight = weight.to(device)."
        )


def check_label_dtype(y: torch.Tensor, name: str, scores: torch.Tensor | None = None) -> None:
    """Class indices must be integers: float labels are usually one-hot rows or a forgotten `.long()`."""
    if _validate.is_class_indices(y):
        return
    if scores is not None and y.dim() == scores.dim() >= 2 and y.dtype.is_floating_point:
        # Same rank as the scores: meant as probabilities, in the wrong shape.
        raise ValueError(
            f"{name}: float targets of shape {tuple(y.shape)} are neither probabilities (the scores' "
            f"shape, {tuple(scores.shape)}) nor class indices (integers of shape {label_shape(scores)}); "
            "reshape them, or convert class indices with y.long()."
        )
    raise ValueError(f"{name}: labels must be integer class indices, got {y.dtype}; convert with y.long().")


def label_shape(scores: torch.Tensor) -> tuple[int, ...]:
    """The shape of class-index targets for `scores`: the scores' shape without dim 1 (the classes)."""
    return tuple(_validate.without_classes(scores.shape))


def check_labels(y: torch.Tensor, scores: torch.Tensor, ignore_index: int, name: str, what: str) -> None:
    """Integer labels of shape `label_shape(scores)`, each in 0 … C-1 or equal to `ignore_index`."""
    check_label_dtype(y, name, scores)
    needed = label_shape(scores)
    if y.shape != needed:
        raise ValueError(
            f"{name}: {what} of shape {tuple(scores.shape)} need labels of shape {needed}, "
            f"got {tuple(y.shape)}; {_label_shape_hint(tuple(y.shape), tuple(scores.shape), what)}."
        )
    num_classes = scores.shape[1]
    # One test, so one synchronisation, on the happy path; the details only on failure.
    if (((y < 0) | (y >= num_classes)) & (y != ignore_index)).any():
        raise ValueError(_out_of_range_message(y, scores, ignore_index, name, what))


def _label_shape_hint(y_shape: tuple, scores_shape: tuple, what: str) -> str:
    needed = tuple(_validate.without_classes(torch.Size(scores_shape)))
    if y_shape == scores_shape:
        return "for one-hot labels use y.argmax(1); for probability targets use y.float()"
    if len(scores_shape) >= 3 and y_shape == scores_shape[:-1]:
        return (f"the classes must be dim 1: for N×…×C {what} (classes last, as nn.Linear gives) "
                f"use {what}.movedim(-1, 1)")
    if y_shape == scores_shape[1:]:
        return f"if they are one sample's scores, add the batch dimension: {what}.unsqueeze(0), " \
            "y.unsqueeze(0)"
    if len(needed) == 2 and y_shape == needed[::-1]:
        return "y looks time-first (T×N): use y.t()"
    if len(needed) > 1 and math.prod(y_shape) == math.prod(needed):
        return f"use y.view{needed} if y holds the labels in that order"
    if len(needed) > 1:
        return f"one label per sample and position of the {what}"
    return "use y.view(-1) if y is N×1"


def _out_of_range_message(y, scores, ignore_index, name, what) -> str:
    num_classes = scores.shape[1]
    labels = y[y != ignore_index]
    axis = "columns" if scores.dim() == 2 else "classes along dim 1"
    message = (f"{name}: labels must be in 0 … {num_classes - 1} ({what} has {num_classes} {axis}), "
               f"got values from {labels.min().item()} to {labels.max().item()}")
    hints = []
    if labels.min() < 0:
        default = "default" if ignore_index == IGNORE_INDEX else "here"
        negative = y[y < 0].unique().tolist()
        fix = (f"pass ignore_index={negative[0]} to skip them" if len(negative) == 1 else
               f"if they all mark missing labels, map them to one with y.masked_fill(y < 0, {ignore_index})")
        hints.append("negative labels are only skipped if they equal ignore_index "
                     f"({default} {ignore_index}): {fix}")
    if labels.max() >= num_classes:
        hints.append("labels starting at 1 need y - 1, else give the model one output per class")
    return "; ".join([message, *hints]) + "."


def check_probabilities(y: torch.Tensor, scores: torch.Tensor, ignore_index: int, unbatched: bool) -> None:
    """Probability targets: no `ignore_index`, entries >= 0 summing to 1 over the classes (dim 1)."""
    if ignore_index != IGNORE_INDEX:
        raise ValueError("ignore_index only applies to class-index targets, not to probability targets.")
    sums = y.sum(1)
    if (y < 0).any() or not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        if unbatched:
            raise ValueError(
                "probability targets must be >= 0 and sum to 1: 1-D scores and float targets are read as "
                "one sample's C scores and probabilities, as torch does; for its class label pass a 0-dim "
                "integer tensor, and for one score per sample use F.binary_cross_entropy_with_logits."
            )
        raise ValueError(
            "probability targets must be >= 0 with rows summing to 1 (over dim 1, the classes); for class "
            f"labels pass integer indices of shape {label_shape(scores)} (y.argmax(1) for one-hot rows), "
            "not floats of the scores' shape."
        )


def check_count_targets(y: torch.Tensor, weight: torch.Tensor | None, ignore_index: int) -> None:
    """The targets `losses.count` accepts; only shapes and dtypes, never values (that would synchronise)."""
    check_tensor(y, "count", "labels", "torch.tensor(y)")
    if weight is not None:
        check_tensor(weight, "count", "weight", "torch.tensor(weight)")
        check_weight_device(weight, y, "count", "labels")
        if weight.dim() != 1:
            raise ValueError(
                f"count: weight must hold one value per class (1-D), got shape {tuple(weight.shape)}."
            )
    if y.is_floating_point() and y.dim() >= 2:
        if ignore_index != IGNORE_INDEX:
            raise ValueError("ignore_index only applies to class-index targets, not to probability targets.")
        return
    if y.is_floating_point():
        raise ValueError(
            f"count: float targets of shape {tuple(y.shape)} are neither class indices nor N×C×… "
            "probabilities; convert class indices with y.long(), or use y.unsqueeze(0) for one sample's "
            "probabilities."
        )
    check_label_dtype(y, "count")
