"""LB602: an epoch loss weighted by `len(y)` when samples do not count the same.

Taught in chapter 6, "Averaging when samples don't count the same" (class weights and
ignored targets): with `weight=` or `ignore_index=` a batch's mean divides by the batch's
summed class weights or its non-ignored targets, not by `len(y)`, so weighting batch means
by `len(y)` (or `X.size(0)`) gives a wrong epoch loss. Weight each batch by its own count:
`lossbook.losses.count(...)`, or `metrics.mean_and_count(loss, y, loss_fn)` fed to
`metrics.Mean.update(batch_mean, weight=count)`.

>>> from lossbook.check import check_source
>>> code = '''
... loss_fn = nn.CrossEntropyLoss(ignore_index=0)
... for X, y in loader:
...     total += loss_fn(model(X), y).item() * len(y)
... '''
>>> [f.code for f in check_source(code)]
['LB602']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check._syntax import is_call, keyword
from lossbook.check.rules._loops import classify, loops, sample_count, updates

__all__ = ["WeightedBySampleCount"]


@register
class WeightedBySampleCount(Rule):
    """LB602: batch means of a weighted or `ignore_index` loss weighted by the number of samples."""

    code = "LB602"
    message = ("a loss with class weights or ignore_index averages over summed weights or non-ignored "
               "targets, not len(y): weight each batch mean by that count (lossbook's losses.count, or "
               "metrics.mean_and_count(loss, y, loss_fn))")
    chapter = "chapter 6, \"Averaging when samples don't count the same\""

    def visit_Module(self, node: ast.Module) -> None:
        """Check `total += loss * len(y)` and `meter.update(loss, len(y))`."""
        for update in updates(self.facts):
            if update.kind == "loss" and update.loss.weighted and sample_count(update.scale):
                self.report(update.node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        """`meter.update(loss.item(), X.size(0))`, `.update(loss, weight=len(y))`."""
        weight = node.args[1] if len(node.args) == 2 else keyword(node, "weight") or keyword(node, "n")
        inside = loops(node, self.facts.parent_of)
        if is_call(node, "update") and node.args and sample_count(weight) and inside:
            kind = classify(node.args[0], node, self.facts)
            if kind and kind[0] == "loss" and kind[2].weighted and kind[2].reduction == "mean":
                self.report(node)
        self.generic_visit(node)
