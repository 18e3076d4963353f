"""Precision, recall, F1 and balanced accuracy per class and averaged, from a confusion matrix.

Taught in the chapter "Beyond accuracy" (chapter 7), on the counts of `ConfusionMatrix`.
Every function takes the C×C counts (rows: the true class) and returns a Python float,
or, with `average="none"`, a float64 CPU tensor of one value per class.

The conventions, the defaults of torchmetrics (and of scikit-learn, without its warning):

- A class never predicted has precision 0/0, one that never occurs recall 0/0: both
  count as 0 (torchmetrics' `zero_division=0`), and F1 = 2·TP / (2·TP + FP + FN) as well.
- `average="macro"`: the mean over the classes that occur in the targets *or* the
  predictions (TP + FP + FN > 0); a class that appears in neither is left out, not
  counted as 0. `"weighted"`: weighted by each class's number of targets (its support).
  `"micro"`: from the summed counts; with one label per sample, every micro average is
  the plain accuracy. `"none"`: one value per class.
- `balanced_accuracy`: the mean recall over the classes that occur in the targets
  (scikit-learn's `balanced_accuracy_score`). It equals the macro recall (torchmetrics'
  `MulticlassAccuracy()` default) unless a class is predicted that never occurs: the
  macro recall counts that class's 0/0 recall as 0.
"""

import torch

from lossbook import _validate

AVERAGES = ("micro", "macro", "weighted", "none")


def precision(matrix: torch.Tensor, average: str = "macro"):
    """TP / (TP + FP) per predicted class: of the samples predicted as c, the share that are c.

    Args:
        matrix: C×C counts, rows = true class (`ConfusionMatrix.compute()`).
        average: "macro", "weighted", "micro", or "none" for one value per class; see the
            module's docstring for the conventions.

    Returns:
        A Python float, or with `average="none"` a float64 CPU tensor of C values.

    Example:
        >>> matrix = torch.tensor([[8, 2], [0, 0]])  # class 1 never occurs, but is predicted
        >>> precision(matrix, "none"), precision(matrix), precision(matrix, "weighted")
        (tensor([1., 0.], dtype=torch.float64), 0.5, 1.0)
    """
    return _reduce(matrix, average, lambda tp, fp, fn: (tp, tp + fp))


def recall(matrix: torch.Tensor, average: str = "macro"):
    """TP / (TP + FN) per true class: of the samples of class c, the share predicted as c.

    Arguments and result as `precision`. The macro recall is torchmetrics'
    `MulticlassAccuracy(num_classes)` with its default `average="macro"`.

    Example:
        >>> recall(torch.tensor([[8, 2], [1, 9]]), "none")
        tensor([0.8000, 0.9000], dtype=torch.float64)
    """
    return _reduce(matrix, average, lambda tp, fp, fn: (tp, tp + fn))


def f1_score(matrix: torch.Tensor, average: str = "macro"):
    """Per class 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall.

    Arguments and result as `precision`; a macro F1 averages the per-class F1 scores.

    Example:
        >>> f1_score(torch.tensor([[8, 2], [1, 9]]), "none")
        tensor([0.8421, 0.8571], dtype=torch.float64)
    """
    return _reduce(matrix, average, lambda tp, fp, fn: (2 * tp, 2 * tp + fp + fn))


def balanced_accuracy(matrix: torch.Tensor) -> float:
    """The mean recall over the classes that occur in the targets (rows with a count).

    Example:
        >>> balanced_accuracy(torch.tensor([[90, 10], [5, 5]]))  # (0.9 + 0.5) / 2
        0.7
    """
    matrix = _as_counts(matrix)
    support = matrix.sum(dim=1)
    occurring = support > 0
    return (matrix.diag()[occurring] / support[occurring]).mean().item()


def _reduce(matrix, average, fraction):
    _validate.one_of("average", average, AVERAGES)
    matrix = _as_counts(matrix)
    tp = matrix.diag()
    fp, fn = matrix.sum(dim=0) - tp, matrix.sum(dim=1) - tp
    if average == "micro":
        numerator, denominator = fraction(tp.sum(), fp.sum(), fn.sum())
        return (numerator / denominator).item()
    numerator, denominator = fraction(tp, fp, fn)
    per_class = torch.where(denominator > 0, numerator / denominator.clamp(min=1), 0.0)
    if average == "none":
        return per_class
    weights = tp + fn if average == "weighted" else (tp + fp + fn > 0).double()
    return ((weights * per_class).sum() / weights.sum()).item()


def _as_counts(matrix) -> torch.Tensor:
    """A float64 CPU copy of a square matrix of counts, with at least one count."""
    matrix = torch.as_tensor(matrix).detach().to("cpu", torch.float64)
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a C×C confusion matrix, got shape {tuple(matrix.shape)}.")
    if matrix.sum() <= 0:
        raise ValueError("the confusion matrix counts nothing (compute() before any update(), or only "
                         "ignored targets): there is nothing to average.")
    return matrix
