r"""LB401: `DistributedSampler` on an evaluation set whose metrics are gathered.

Taught in chapter 3, "Averaging loss and accuracy honestly" (many processes: padded shards
and exact sums) and pair 7 of the appendix "Common mistakes": `DistributedSampler` pads
every process's shard to the same length by repeating samples, so a metric all-reduced over
the processes, or divided by the dataset's size, counts some samples twice. Use an
unpadded sampler for evaluation (`lossbook.distributed.UnpaddedDistributedSampler`, or
torch's `drop_last=True` and a separate pass over the rest) and all-reduce sums and counts.

>>> from lossbook.check import check_source
>>> code = "sampler = DistributedSampler(test_set)\ndist.all_reduce(correct)"
>>> [f.code for f in check_source(code)]
['LB401']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check._syntax import EVAL_NAME, dotted, is_constant, keyword, last_name

__all__ = ["PaddedEvaluationShards"]

_GATHER = {"all_reduce", "all_gather", "all_gather_object", "reduce", "all_gather_into_tensor",
           "gather", "reduce_scatter"}


@register
class PaddedEvaluationShards(Rule):
    """LB401: padded duplicates counted in a distributed evaluation."""

    code = "LB401"

    def visit_Module(self, node: ast.Module) -> None:
        """Report evaluation samplers, when the file gathers metrics across processes."""
        calls = self.facts.nodes(ast.Call)
        gathers = any(last_name(c.func) in _GATHER and dotted(c.func).split(".")[0] in ("dist", "torch")
                      or last_name(c.func) in _GATHER and isinstance(c.func, ast.Name) for c in calls)
        by_size = any(dotted(c.func) == "len" and c.args and last_name(c.args[0]) == "dataset" for c in calls)
        if not gathers and not by_size:
            return
        parent_of = self.facts.parent_of
        for call in calls:
            if last_name(call.func) != "DistributedSampler" or is_constant(keyword(call, "drop_last"), True):
                continue
            dataset = call.args[0] if call.args else keyword(call, "dataset")
            parent = parent_of.get(call)
            names = [ast.unparse(dataset)] if dataset is not None else []
            if isinstance(parent, ast.Assign):
                names += [ast.unparse(t) for t in parent.targets]
            elif isinstance(parent, ast.keyword) and isinstance(parent_of.get(parent), ast.Call):
                loader = parent_of.get(parent_of[parent])
                names += [ast.unparse(t) for t in getattr(loader, "targets", [])]
            if any(EVAL_NAME.search(name) for name in names):
                self.report(call)
