"""`ConfusionMatrix`: counts of (true class, predicted class), as a running sum.

Taught in the chapter "Beyond accuracy" (chapter 7). The matrix is a running sum like
every metric's state (C×C int64 counts, added on the batch's device), so it is exact for
any batching and across processes. Per-class precision, recall and F1, their averages
and balanced accuracy are functions of the final matrix (`lossbook.metrics.per_class`):
`precision(matrix, average)`, or the same as a method, `confusion.precision(average)`.
"""

import torch

from lossbook import _validate
from lossbook.losses import IGNORE_INDEX
from lossbook.metrics import labels
from lossbook.metrics.per_class import balanced_accuracy, f1_score, precision, recall
from lossbook.metrics.sums import RunningSums


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
        >>> confusion.recall(average="none")
        tensor([1.0000, 0.6667, 0.0000], dtype=torch.float64)
        >>> confusion.precision(average="micro"), confusion.balanced_accuracy()
        (0.6, 0.5555555555555555)
    """

    STATE = ("matrix", "invalid")

    def __init__(self, num_classes: int, ignore_index: int | None = IGNORE_INDEX):
        _validate.positive_int("num_classes", num_classes, minimum=2)
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
        self.invalid = torch.zeros((), dtype=torch.int64)  # labels outside 0 … C-1

    def update(self, logits_or_preds: torch.Tensor, target: torch.Tensor) -> None:
        """Count a batch: N×C(×d…) scores (their argmax), or predicted classes shaped like target.

        Labels outside `0 … C-1` (and not `ignore_index`) are an error: raised at once on
        the CPU; on an accelerator, where looking would make it wait, by `compute()`.
        """
        name, num_classes = "ConfusionMatrix", self.num_classes
        labels.check_types(name, logits_or_preds, target)
        if labels.is_scores(logits_or_preds, target):
            if logits_or_preds.shape[1] != num_classes:
                raise ValueError(f"{name}({num_classes}): the scores have {logits_or_preds.shape[1]} "
                                 f"classes (dim 1), not {num_classes}.")
            preds = logits_or_preds.argmax(dim=1)
        elif logits_or_preds.shape == target.shape:
            preds = logits_or_preds.long()
        else:
            raise ValueError(f"{name}: predictions of shape {tuple(logits_or_preds.shape)} do not match "
                             f"target of shape {tuple(target.shape)}; pass N×C logits or N class indices.")
        counted = labels.counted(target, self.ignore_index)
        invalid = counted & (labels.outside(target, num_classes) | labels.outside(preds, num_classes))
        if target.device.type == "cpu" and invalid.any():
            bad_target = (counted & labels.outside(target, num_classes)).any()
            shown, what = (target[counted], "target") if bad_target else (preds[counted], "the prediction")
            raise ValueError(labels.bad_labels(name, shown, num_classes, self.ignore_index, what,
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

    def precision(self, average: str = "macro", distributed: bool = False):
        """`precision(self.compute(distributed), average)`."""
        return precision(self.compute(distributed), average)

    def recall(self, average: str = "macro", distributed: bool = False):
        """`recall(self.compute(distributed), average)`."""
        return recall(self.compute(distributed), average)

    def f1_score(self, average: str = "macro", distributed: bool = False):
        """`f1_score(self.compute(distributed), average)`."""
        return f1_score(self.compute(distributed), average)

    def balanced_accuracy(self, distributed: bool = False) -> float:
        """`balanced_accuracy(self.compute(distributed))`."""
        return balanced_accuracy(self.compute(distributed))

    def __repr__(self) -> str:
        return f"ConfusionMatrix(num_classes={self.num_classes}, total={int(self.matrix.sum())})"
