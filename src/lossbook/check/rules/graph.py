r"""LB104: a loss tensor added to a running total with its autograd graph.

Taught in chapter 3, "Averaging loss and accuracy honestly" (`running_loss += loss` keeps
every batch's graph alive): the total becomes a tensor attached to the graph of every batch
so far, and in an evaluation without `torch.no_grad()` it holds every batch's activations
too. Add `loss.item()` (or `loss.detach()`). Quiet when the total is itself backpropagated
(a loss summed on purpose), when it is not a number set before the loop, under `no_grad`, or
when nothing shows a graph (no `backward()` in the function, no model called in the loop).

>>> from lossbook.check import check_source
>>> code = "total = 0\nfor X, y in loader:\n    loss = loss_fn(model(X), y)\n    total += loss"
>>> [f.code for f in check_source(code)]
['LB104']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check._facts import scope_of
from lossbook.check._syntax import MODEL, calls_in, dotted, last_name, walk_scope
from lossbook.check.rules._loops import no_grad, updates

__all__ = ["GraphAccumulated"]


def _backpropagated(name: str, scope: ast.AST) -> bool:
    """Whether `name`, or a name computed from it (`total = content + name`), is backpropagated."""
    names = {name}
    for _ in range(3):  # follow assignments a few steps: style_loss -> total_loss -> backward()
        for node in walk_scope(scope):
            if isinstance(node, ast.Assign) and names & {dotted(n) for n in ast.walk(node.value)}:
                names |= {dotted(t) for t in node.targets if dotted(t)}
    return any(names & {dotted(n) for n in ast.walk(call.func.value)} for call in calls_in(scope, "backward"))


@register
class GraphAccumulated(Rule):
    """LB104: `running_loss += loss` (or `= running_loss + loss`) with the loss tensor itself."""

    code = "LB104"

    def visit_Module(self, node: ast.Module) -> None:
        """Report each running total of loss tensors that still carry their graph."""
        for update in updates(self.facts):
            if update.kind != "loss" or update.detached or update.is_list or "." in update.target:
                continue
            start = self.facts.assigned_before(update.target, update.loop)
            numeric = isinstance(start, ast.Constant) and type(start.value) in (int, float)
            scope = scope_of(update.node, self.facts.parent_of)
            graph = calls_in(scope, "backward") or any(  # evidence of a graph: a backward pass or a model
                isinstance(n, ast.Call) and MODEL.search(last_name(n.func)) for n in walk_scope(update.loop))
            summed_on_purpose = _backpropagated(update.target, scope)
            if numeric and graph and not no_grad(update.node, self.facts) and not summed_on_purpose:
                self.report(update.node)
