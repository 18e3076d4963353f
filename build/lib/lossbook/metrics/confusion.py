"""`ConfusionMatrix`: counts of (true class, predicted class), and what is computed from them.

Taught in the chapter "Beyond accuracy" (chapter 7). The matrix is a running sum like
every metric's state (C×C int64 counts, added on the batch's device), so it is exact for
any batching and across processes. Per-class precision, recall and F1, their averages
and balanced accuracy are functions of the final matrix: `precision(matrix, average)`,
or the same as a method, `confusion.precision(average)`.

The conventions, the defaults of torchmetrics (and of scikit-learn, without its warning):

- A class never predicted has precision 0/0, one that never occurs recall 0/0: both
  count as 0 (torchmetrics' `zero_division=0`), and F1 = 2·TP / (2·TP + FP + FN) as well.
- `average="macro"`: the mean over the classes that occur in the targets *or* the
  predictions (TP + FP + FN > 0); a class that appears in neither is left out, not
  counted as 0. `"weighted"`: weighted by each class's number of targets (its support).
  `"micro"`: from the summed counts; with one label per sample, every micro average is
  the plain accuracy. `None`: one value per class.
- `balanced_accuracy`: the mean recall over the classes that occur in the targets
  (scikit-learn's `balanced_accuracy_score`). It equals the macro recall (torchmetrics'
  `MulticlassAccuracy()` default) unless a class is predicted that never occurs: the
  macro recall counts that class's 0/0 recall as 0.
"""

import torch

from lossbook.metrics import _labels
from lossbook.metrics._sums import RunningSums

AVERAGES = ("micro", "macro", "weighted", "none", None)


class ConfusionMatrix(RunningSums):
    """Counts `matrix[i, j]`: targets of class i predicted as class j (rows: true class).

    Args:
        num_classes: C, the number of classes (at least 2).
        ignore_index: Targets equal to it (padding) are not counted; None: all are.

    Example:
        >>> confusion = ConfusionMatrix(3)
        >>> confusion.update(torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 2]))  # classes
        >>> confusion.update(torch.tensor([[0.1, 2.0, 0.3]]), torch.tensor([1]))       # logits
        >>> confusion.compute()
        tensor([[1, 0, 0],
                [0, 2, 1],
                [0, 1, 0]])
        >>> confusion.recall(average=None)
        tensor([1.0000, 0.6667, 0.0000], dtype=torch.float64)
        >>> confusion.precision(average="micro"), confusion.balanced_accuracy()
        (0.6, 0.5555555555555555)
    """

    STATE = ("matrix", "invalid")

    def __init__(self, num_classes: int, ignore_index: int | None = None):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
        self.invalid = torch.zeros((), dtype=torch.int64)  # labels outside 0 … C-1

    def update(self, logits_or_preds: torch.Tensor, target: torch.Tensor) -> None:
        """Count a batch: N×C(×d…) scores (their argmax), or predicted classes shaped like target.

        Labels outside `0 … C-1` (and not `ignore_index`) are an error: raised at once on
        the CPU; on an accelerator, where looking would make it wait, by `compute()`.
        """
        name, num_classes = "ConfusionMatrix", self.num_classes
        _labels.check_types(name, logits_or_preds, target)
        if _labels.is_scores(logits_or_preds, target):
            if logits_or_preds.shape[1] != num_classes:
                raise ValueError(f"{name}({num_classes}): the scores have {logits_or_preds.shape[1]} "
                                 f"classes (dim 1), not {num_classes}.")
            preds = logits_or_preds.argmax(dim=1)
        elif logits_or_preds.shape == target.shape:
            preds = logits_or_preds.long()
        else:
            raise ValueError(f"{name}: predictions of shape {tuple(logits_or_preds.shape)} do not match "
                             f"target of shape {tuple(target.shape)}; pass N×C logits or N class indices.")
        counted = _labels.counted(target, self.ignore_index)
        invalid = counted & (_labels.outside(target, num_classes) | _labels.outside(preds, num_classes))
        if target.device.type == "cpu" and invalid.any():
            bad_target = (counted & _labels.outside(target, num_classes)).any()
            labels, what = (target[counted], "target") if bad_target else (preds[counted], "the prediction")
            raise ValueError(_labels.bad_labels(name, labels, num_classes, self.ignore_index, what,
                                                classes="there are"))
        # Every uncounted target goes to one extra cell, dropped: no boolean indexing, which
        # would make an accelerator wait to learn how many targets count.
        cells = num_classes * num_classes
        index = torch.where(counted & ~invalid, target.long() * num_classes + preds, cells).flatten()
        counts = torch.zeros(cells + 1, dtype=torch.int64, device=index.device)
        counts.index_add_(0, index, torch.ones_like(index))
        self._add("matrix", counts[:cells].reshape(num_classes, num_classes))
        self._add("invalid", invalid.sum())

    def compute(self, distributed: bool = False) -> torch.Tensor:
        """The C×C counts since the last `reset()`, as a new int64 tensor on the CPU.

        Args:
            distributed: Add the counts of every process in the default process group
                (see `lossbook.metrics`). A collective: every process must call it.
        """
        matrix, invalid = self._summed(distributed)
        if invalid:
            raise ValueError(f"ConfusionMatrix: {int(invalid)} target(s) or prediction(s) held labels "
                             "outside 0 … C-1 (not ignore_index); check the labels and num_classes.")
        return matrix.to("cpu", copy=True)

    def precision(self, average: str | None = "macro", distributed: bool = False):
        """`precision(self.compute(distributed), average)`."""
        return precision(self.compute(distributed), average)

    def recall(self, average: str | None = "macro", distributed: bool = False):
        """`recall(self.compute(distributed), average)`."""
        return recall(self.compute(distributed), average)

    def f1_score(self, average: str | None = "macro", distributed: bool = False):
        """`f1_score(self.compute(distributed), average)`."""
        return f1_score(self.compute(distributed), average)

    def balanced_accuracy(self, distributed: bool = False) -> float:
        """`balanced_accuracy(self.compute(distributed))`."""
        return balanced_accuracy(self.compute(distributed))

    def __repr__(self) -> str:
        return f"ConfusionMatrix(num_classes={self.num_classes}, total={int(self.matrix.sum())})"


def precision(matrix: torch.Tensor, average: str | None = "macro"):
    """TP / (TP + FP) per predicted class: of the samples predicted as c, the share that are c.

    Args:
        matrix: C×C counts, rows = true class (`ConfusionMatrix.compute()`).
        average: "macro", "weighted", "micro", or None (or "none") for one value per class;
            see the module's docstring for the conventions.

    Returns:
        A Python float, or with `average=None` a float64 tensor of C values.

    Example:
        >>> matrix = torch.tensor([[8, 2], [0, 0]])  # class 1 never occurs, but is predicted
        >>> precision(matrix, None), precision(matrix), precision(matrix, "weighted")
        (tensor([1., 0.], dtype=torch.float64), 0.5, 1.0)
    """
    return _reduce(matrix, average, lambda tp, fp, fn: (tp, tp + fp))


def recall(matrix: torch.Tensor, average: str | None = "macro"):
    """TP / (TP + FN) per true class: of the samples of class c, the share predicted as c.

    Arguments and result as `precision`. The macro recall is torchmetrics'
    `MulticlassAccuracy(num_classes)` with its default `average="macro"`.

    Example:
        >>> recall(torch.tensor([[8, 2], [1, 9]]), None)
        tensor([0.8000, 0.9000], dtype=torch.float64)
    """
    return _reduce(matrix, average, lambda tp, fp, fn: (tp, tp + fn))


def f1_score(matrix: torch.Tensor, average: str | None = "macro"):
    """Per class 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall.

    Arguments and result as `precision`; a macro F1 averages the per-class F1 scores.

    Example:
        >>> f1_score(torch.tensor([[8, 2], [1, 9]]), None)
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
    if average not in AVERAGES:
        raise ValueError(f"average must be 'micro', 'macro', 'weighted' or None, got {average!r}.")
    matrix = _as_counts(matrix)
    tp = matrix.diag()
    fp, fn = matrix.sum(dim=0) - tp, matrix.sum(dim=1) - tp
    if average == "micro":
        numerator, denominator = fraction(tp.sum(), fp.sum(), fn.sum())
        return (numerator / denominator).item()
    numerator, denominator = fraction(tp, fp, fn)
    per_class = torch.where(denominator > 0, numerator / denominator.clamp(min=1), 0.0)
    if average in ("none", None):
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
