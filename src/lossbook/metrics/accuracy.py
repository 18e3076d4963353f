"""`Accuracy`: correct predictions over counted targets, as two running integer sums.

Taught in the chapter "Averaging loss and accuracy" (chapter 3). `ignore_index` (skip
padding, as the loss does) comes with the chapter "Averaging when samples don't count the
same" (chapter 6), `top_k` with "Beyond accuracy" (chapter 7).
"""

import torch

from lossbook import _validate
from lossbook.losses import IGNORE_INDEX
from lossbook.metrics import labels
from lossbook.metrics.sums import RunningSums, ratio


class Accuracy(RunningSums):
    """Fraction of the targets whose class is among the `top_k` highest scores.

    Args:
        top_k: Count a prediction as correct if the target is among the `top_k` largest
            logits (1: plain accuracy, the argmax). `top_k > 1` needs logits.
        ignore_index: Targets equal to it (padding) count neither as correct nor in the
            total, as in `nn.CrossEntropyLoss(ignore_index=...)`, with the same default
            (-100, `losses.IGNORE_INDEX`); None: every target counts.

    Example:
        >>> acc = Accuracy()
        >>> acc.update(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]))  # logits
        >>> acc.update(torch.tensor([1]), torch.tensor([1]))                          # classes
        >>> acc.compute()
        0.6666666666666666
        >>> acc
        Accuracy(correct=2, total=3)
        >>> padded = Accuracy()  # ignore_index=-100, as the loss
        >>> padded.update(torch.tensor([1, 0, 1]), torch.tensor([1, 1, -100]))
        >>> padded
        Accuracy(correct=1, total=2)
    """

    STATE = ("correct", "total", "invalid")

    def __init__(self, top_k: int = 1, ignore_index: int | None = IGNORE_INDEX):
        _validate.positive_int("top_k", top_k)
        self.top_k, self.ignore_index = top_k, ignore_index
        self.correct = torch.zeros((), dtype=torch.int64)
        self.total = torch.zeros((), dtype=torch.int64)
        self.invalid = torch.zeros((), dtype=torch.int64)  # labels outside 0 … C-1

    def update(self, logits_or_preds: torch.Tensor, target: torch.Tensor) -> None:
        """Count a batch: N×C(×d…) scores, or predicted classes of the target's shape.

        Labels outside `0 … C-1` (and not `ignore_index`) are an error: raised at once on
        the CPU; on an accelerator, where looking would make it wait, by `compute()`.
        """
        labels.check_types("Accuracy", logits_or_preds, target)
        scores = labels.is_scores(logits_or_preds, target)
        if scores and labels.all_count(target, logits_or_preds.shape[1], self.ignore_index):
            # The usual batch: every target counts and is a class. Two sums, no masks.
            self._add("correct", self._hits(logits_or_preds, target).sum())
            self._add("total", target.numel())
            return
        counted = labels.counted(target, self.ignore_index)
        if scores:
            hits = self._hits(logits_or_preds, target)
            invalid = counted & labels.outside(target, logits_or_preds.shape[1])
            if target.device.type == "cpu" and invalid.any():
                raise ValueError(labels.bad_labels("Accuracy", target[counted], logits_or_preds.shape[1],
                                                    self.ignore_index))
            self._add("invalid", invalid.sum())
        elif logits_or_preds.shape == target.shape and self.top_k == 1:
            hits = logits_or_preds == target
        else:
            raise ValueError(
                f"Accuracy: predictions of shape {tuple(logits_or_preds.shape)} do not match target of "
                f"shape {tuple(target.shape)}; pass N×C logits"
                + (" (top_k > 1 needs the scores of every class)." if self.top_k > 1 else
                   " or N class indices.")
            )
        self._add("correct", (hits & counted).sum())
        self._add("total", counted.sum())

    def compute(self, distributed: bool = False) -> float:
        """Correct predictions / counted targets since the last `reset()`.

        Args:
            distributed: Count the targets of every process in the default process group
                (see `lossbook.metrics`). A collective: every process must call it.
                Without an initialized process group it is the local accuracy.
        """
        correct, total, invalid = self._summed(distributed)
        if invalid:
            raise ValueError(f"Accuracy: {int(invalid)} target(s) held labels outside 0 … C-1 "
                             "(not ignore_index); check the labels and the number of outputs.")
        return ratio(correct, total, "Accuracy", "or only with empty batches or ignored targets")

    def interval(self, confidence: float = 0.95, method: str = "wilson", distributed: bool = False):
        """The accuracy with a confidence interval from its counts, `stats.accuracy_interval`.

        Taught in the chapter "How sure is that number?" (chapter 8): the test set is a
        sample, and its accuracy a binomial proportion. Returns `(estimate, low, high)`.

        Example:
            >>> accuracy = Accuracy()
            >>> accuracy.update(torch.tensor([1] * 82 + [0] * 18), torch.ones(100, dtype=torch.long))
            >>> [round(x, 3) for x in accuracy.interval()]
            [0.82, 0.733, 0.883]
        """
        from lossbook import stats  # scipy, imported only for intervals

        correct, total, _ = self._summed(distributed)
        self.compute(distributed)  # the same checks: labels, something counted
        return stats.accuracy_interval(int(correct), int(total), confidence, method)

    def _hits(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.top_k == 1:
            return logits.argmax(dim=1) == target
        if self.top_k > logits.shape[1]:
            raise ValueError(f"Accuracy(top_k={self.top_k}) needs at least {self.top_k} classes, "
                             f"the scores have {logits.shape[1]}.")
        top = logits.topk(self.top_k, dim=1).indices  # N×k(×d…)
        return (top == target.unsqueeze(1)).any(dim=1)

    def __repr__(self) -> str:
        return f"Accuracy(correct={self.correct.item()}, total={self.total.item()})"

