r"""LB401: `DistributedSampler` on an evaluation set.

Taught in chapter 3, "Averaging loss and accuracy honestly" (many processes: padded shards
and exact sums) and pair 7 of the appendix "Common mistakes": `DistributedSampler` pads
every process's shard to the same length by repeating samples, so a metric all-reduced over
the processes, or divided by the dataset's size, counts some samples twice. Use an
unpadded sampler for evaluation (`lossbook.distributed.UnpaddedDistributedSampler`, or
torch's `drop_last=True` and a separate pass over the rest) and all-reduce sums and counts.
The gathering is often in another file (a metric logger's `synchronize_between_processes`),
so the sampler alone is reported: what else would shard an evaluation set?

>>> from lossbook.check import check_source
>>> code = "sampler = DistributedSampler(test_set)\nloader = DataLoader(test_set, sampler=sampler)"
>>> [f.code for f in check_source(code)]
['LB401']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check._syntax import EVAL_NAME, is_constant, keyword, last_name

__all__ = ["PaddedEvaluationShards"]


@register
class PaddedEvaluationShards(Rule):
    """LB401: padded duplicates counted in a distributed evaluation."""

    code = "LB401"

    def visit_Module(self, node: ast.Module) -> None:
        """Report the samplers of evaluation sets that pad (no `drop_last=True`)."""
        calls = self.facts.nodes(ast.Call)
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
