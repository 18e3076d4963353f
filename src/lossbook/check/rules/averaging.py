r"""LB101-LB103: an epoch's loss or accuracy averaged over batches instead of samples.

Taught in chapter 3, "Averaging loss and accuracy honestly": with `reduction="mean"` every
batch loss is already a mean, so adding them and dividing by the number of batches gives the
last, smaller batch the say of a full one (LB101), and dividing them by the number of
samples gives a loss `batch_size` times too small (LB102, the bug of pytorch/tutorials#1486).
A count of correct predictions divided by the number of batches is not an accuracy at all
(LB103). A loader built with `drop_last=True` has equal batches: LB101 and LB103 stay quiet.

>>> from lossbook.check import check_source
>>> code = "for X, y in loader:\n    s += loss_fn(model(X), y).item()\nprint(s / len(loader))"
>>> [f.code for f in check_source(code)]
['LB101']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check.rules._divisions import divisions, list_means
from lossbook.check.rules._loops import divisor, updates

__all__ = ["MeanOfBatchMeans", "SumOfMeansOverSamples", "AccuracyOverBatches"]



class _AveragingRule(Rule):
    """Visits the module once and checks every running total it finds (see `_loops`)."""

    kinds: tuple[str, ...] = ()
    over = "batches"

    def visit_Module(self, node: ast.Module) -> None:
        """Report each total of the rule's kinds divided by the rule's count."""
        for update in updates(self.facts):
            if update.kind not in self.kinds or update.scale is not None or self.skip(update):
                continue
            if update.is_list:
                places = list_means(update, self.facts) if self.over == "batches" else []
            else:
                places = [n for n, d in divisions(update, self.facts)
                          if divisor(d, update.loop, self.facts) == self.over]
            if places:
                self.report(places[0])

    def skip(self, update) -> bool:
        """Whether this update's total is right after all (equal batches, summed losses)."""
        summed = update.loss is not None and update.loss.reduction != "mean"
        return summed or self.facts.drop_last


@register
class MeanOfBatchMeans(_AveragingRule):
    """LB101: the sum of batch-mean losses divided by the number of batches."""

    code = "LB101"
    kinds = ("loss",)


@register
class SumOfMeansOverSamples(_AveragingRule):
    """LB102: the sum of batch-mean losses divided by the number of samples."""

    code = "LB102"
    kinds = ("loss",)
    over = "samples"

    def skip(self, update) -> bool:
        """Only a loss known to be a mean, added as is."""
        return update.loss is None or update.loss.reduction != "mean"


@register
class AccuracyOverBatches(_AveragingRule):
    """LB103: a count of correct predictions, or batch accuracies, divided by the number of batches."""

    code = "LB103"
    kinds = ("count", "accuracy")

    def skip(self, update) -> bool:
        """A count over batches is wrong even when they are equal; batch accuracies are then fine."""
        return update.kind == "accuracy" and self.facts.drop_last
