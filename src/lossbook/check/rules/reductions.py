r"""LB601-LB602: a reduction or a count that does not match what the loss averages over.

LB601: `KLDivLoss` or `F.kl_div` with `reduction="mean"` (its default). "mean" divides the
summed divergence by the number of elements, batch size times number of classes, so the loss
is C times too small: the KL divergence per sample is `reduction="batchmean"`. Chapter 2,
"Cross-entropy", derives the loss from two distributions, where the KL divergence is the
cross-entropy minus the target's entropy.

LB602: an epoch loss weighted by `len(y)` when samples do not count the same. Chapter 6,
"Averaging when samples don't count the same" (class weights and ignored targets): with
`weight=` or `ignore_index=` a batch's mean divides by the batch's summed class weights or its
non-ignored targets, not by `len(y)`, so weighting batch means by `len(y)` (or `X.size(0)`)
gives a wrong epoch loss. Weight each batch by its own count: `lossbook.losses.count(...)`, or
`metrics.mean_and_count(loss, y, loss_fn)` fed to `metrics.Mean.update(batch_mean, weight=count)`.

>>> from lossbook.check import check_source
>>> code = '''
... kl = nn.KLDivLoss(reduction='mean')
... loss_fn = nn.CrossEntropyLoss(ignore_index=0)
... for X, y in loader:
...     total += loss_fn(model(X), y).item() * len(y)
... '''
>>> [f.code for f in check_source(code)]
['LB601', 'LB602']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check._facts import loss_class
from lossbook.check._syntax import is_call, is_constant, keyword, last_name
from lossbook.check.rules._loops import classify, loops, sample_count, updates

__all__ = ["KLDivMean", "WeightedBySampleCount"]


@register
class KLDivMean(Rule):
    """LB601: a KL divergence averaged over every element instead of over the batch."""

    code = "LB601"

    def visit_Call(self, node: ast.Call) -> None:
        """Check every KL divergence built or called for its reduction."""
        info = loss_class(node) or (self.facts.loss(node) if last_name(node.func) == "kl_div" else None)
        if info is not None and info.kind == "KLDivLoss":
            legacy = any(keyword(node, k) is not None for k in ("size_average", "reduce"))
            reduction = keyword(node, "reduction")
            if not legacy and (reduction is None or is_constant(reduction, "mean")):
                self.report(node)
        self.generic_visit(node)


@register
class WeightedBySampleCount(Rule):
    """LB602: batch means of a weighted or `ignore_index` loss weighted by the number of samples."""

    code = "LB602"

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
