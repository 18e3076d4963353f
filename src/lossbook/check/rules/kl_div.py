"""LB601: `KLDivLoss` or `F.kl_div` with `reduction="mean"` (its default).

"mean" divides the summed divergence by the number of elements, batch size times number of
classes, so the loss is C times too small: the KL divergence per sample is
`reduction="batchmean"`. Chapter 2, "Cross-entropy", derives the loss from two
distributions, where the KL divergence is the cross-entropy minus the target's entropy.

>>> from lossbook.check import check_source
>>> [f.code for f in check_source("kl = nn.KLDivLoss(reduction='mean')")]
['LB601']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check._facts import loss_class
from lossbook.check._syntax import is_constant, keyword, last_name

__all__ = ["KLDivMean"]


@register
class KLDivMean(Rule):
    """LB601: a KL divergence averaged over every element instead of over the batch."""

    code = "LB601"
    message = ("KLDivLoss/F.kl_div with reduction='mean' (the default) divides by batch size times the "
               "number of classes; use reduction='batchmean' for the KL divergence per sample")
    chapter = 'chapter 2, "Cross-entropy"'

    def visit_Call(self, node: ast.Call) -> None:
        """Check every KL divergence built or called for its reduction."""
        info = loss_class(node) or (self.facts.loss(node) if last_name(node.func) == "kl_div" else None)
        if info is not None and info.kind == "KLDivLoss":
            legacy = any(keyword(node, k) is not None for k in ("size_average", "reduce"))
            reduction = keyword(node, "reduction")
            if not legacy and (reduction is None or is_constant(reduction, "mean")):
                self.report(node)
        self.generic_visit(node)
