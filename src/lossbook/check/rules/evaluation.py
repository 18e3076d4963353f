r"""LB301-LB302: an evaluation loop without `torch.no_grad()` or without `model.eval()`.

Taught in chapter 3, "Averaging loss and accuracy honestly" (`model.train()`,
`model.eval()` and `torch.no_grad()`). An evaluation loop is a loop over a loader whose name
says validation or test (`test_loader`, `val_dl`, `dataloaders["val"]`) that calls a model
and computes a loss or compares predictions, and calls no `backward()`. Without
`no_grad`, every batch records a graph; without `eval()`, dropout stays on and batch norm
normalises with each test batch's statistics (a model built in the same file from layers
that ignore the mode is left alone). A function that evaluates counts as covered
when a call of it in the same file is under `no_grad`, or after an `eval()`; one never
called in the file is left alone for `eval()` (its caller, elsewhere, may switch).

>>> from lossbook.check import check_source
>>> code = "for X, y in test_loader:\n    correct += (model(X).argmax(1) == y).sum()"
>>> [f.code for f in check_source(code)]
['LB301', 'LB302']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check._facts import Facts, scope_of
from lossbook.check._syntax import (
    EVAL_NAME,
    MODEL,
    calls_in,
    dotted,
    is_constant,
    last_name,
    unwrap,
    walk_scope,
)
from lossbook.check.rules._loops import no_grad
from lossbook.check.rules._models import mode_free

__all__ = ["EvalWithoutNoGrad", "EvalWithoutEvalMode", "evaluation_loop", "call_sites"]



def evaluation_loop(loop: ast.AST, facts: Facts) -> bool:
    """Whether `loop` evaluates: over a validation/test loader, calls a model, measures, no backward."""
    if not isinstance(loop, ast.For) or not EVAL_NAME.search(ast.unparse(unwrap(loop.iter))):
        return False
    if calls_in(loop, "backward", "step", "zero_grad"):
        return False
    nodes = list(walk_scope(loop))
    model = any(isinstance(n, ast.Call) and MODEL.search(last_name(n.func)) for n in nodes)
    measures = any(facts.loss(n) is not None or isinstance(n, ast.Compare) and isinstance(n.ops[0], ast.Eq)
                   or isinstance(n, ast.Call) and last_name(n.func) in ("eq", "argmax") for n in nodes)
    return model and measures


def call_sites(function: ast.AST, facts: Facts) -> list[ast.Call]:
    """The calls in the file of the function (or method, as `self.name(...)`) `function`."""
    name = getattr(function, "name", None)
    return [n for n in facts.nodes(ast.Call) if name and last_name(n.func) == name
            and (isinstance(n.func, ast.Name) or dotted(n.func).startswith("self."))]


class _EvaluationRule(Rule):
    """Checks every evaluation loop; subclasses say what covers one."""

    def visit_For(self, node: ast.For) -> None:
        """Report an evaluation loop that nothing covers."""
        if evaluation_loop(node, self.facts) and not self.covered(node):
            self.report(node)
        self.generic_visit(node)

    def covered(self, loop: ast.For) -> bool:
        """Whether the loop is evaluated correctly after all."""
        raise NotImplementedError


@register
class EvalWithoutNoGrad(_EvaluationRule):
    """LB301: an evaluation loop that records an autograd graph for every batch."""

    code = "LB301"

    def covered(self, loop: ast.For) -> bool:
        """Under `no_grad`, with one inside the loop, or called under one."""
        if no_grad(loop, self.facts) or any(
                isinstance(n, ast.With) and no_grad(n.body[0], self.facts) for n in walk_scope(loop)):
            return True
        function = scope_of(loop, self.facts.parent_of)
        return any(no_grad(call, self.facts) for call in call_sites(function, self.facts))


def _switches_to_eval(scope: ast.AST, before: int) -> bool:
    return any(n.lineno < before and (not n.args or is_constant(n.args[0], False))
               for n in calls_in(scope, "eval") + [c for c in calls_in(scope, "train")
                                                   if c.args and is_constant(c.args[0], False)]
               if isinstance(n.func, ast.Attribute))


@register
class EvalWithoutEvalMode(_EvaluationRule):
    """LB302: an evaluation loop with the model left in training mode."""

    code = "LB302"

    def covered(self, loop: ast.For) -> bool:
        """An `eval()` before the loop in its function, or before every call of that function."""
        function = scope_of(loop, self.facts.parent_of)
        if _switches_to_eval(function, loop.lineno) or _switches_to_eval(loop, 10**9):
            return True
        models = [n for n in walk_scope(loop) if isinstance(n, ast.Call) and MODEL.search(last_name(n.func))]
        if all(mode_free(call, self.facts) for call in models):
            return True  # built in this file from layers that ignore the mode: eval() changes nothing
        if isinstance(function, ast.Module):
            return False
        sites = call_sites(function, self.facts)
        return not sites or all(_switches_to_eval(scope_of(s, self.facts.parent_of), s.lineno) for s in sites)
