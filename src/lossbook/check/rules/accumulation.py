"""LB501-LB502: gradient accumulation that does not give the full batch's gradient.

Taught in chapter 6, "Averaging when samples don't count the same" (gradient accumulation:
the bug, reproduced). With class weights or `ignore_index`, a micro-batch's mean is over its
own weight or its own non-ignored targets, so dividing each micro-batch's mean by the number
of micro-batches `k` is not the mean over the whole batch (LB501): divide each micro-batch's
summed loss by the whole batch's count instead. And stepping only when `(i + 1) % k == 0`
drops the last micro-batches' gradients whenever the epoch's length is not a multiple of `k`
(LB502): step also after the last batch.

>>> from lossbook.check import check_source
>>> code = '''
... for i, (X, y) in enumerate(train_loader):
...     loss_fn(model(X), y).backward()
...     if (i + 1) % accumulation_steps == 0:
...         optimizer.step()
... '''
>>> [f.code for f in check_source(code)]
['LB502']
"""

import ast
import re

from lossbook.check._core import Rule, register
from lossbook.check._facts import scope_of
from lossbook.check._syntax import calls_in, dotted, walk_scope
from lossbook.check.rules._loops import classify, loops

__all__ = ["AccumulatedWeightedMean", "LeftoverMicroBatches"]

ACCUMULATION = re.compile(r"accum|micro|update_freq|iters_to_acc", re.IGNORECASE)
OPTIMIZER = re.compile(r"optim|opt$|^opt|scaler", re.IGNORECASE)


def _optimizer_steps(node: ast.AST) -> list[ast.Call]:
    return [c for c in calls_in(node, "step") if OPTIMIZER.search(dotted(c.func.value) or "")]


def modulo_steps(loop: ast.AST) -> list[ast.If]:
    """The `if ... % k ...:` blocks of `loop` that step an optimizer."""
    return [n for n in walk_scope(loop) if isinstance(n, ast.If) and _optimizer_steps(n)
            and any(isinstance(b, ast.BinOp) and isinstance(b.op, ast.Mod) for b in ast.walk(n.test))]


@register
class AccumulatedWeightedMean(Rule):
    """LB501: a weighted or `ignore_index` mean divided by the number of micro-batches."""

    code = "LB501"

    def _check(self, node: ast.AST, numerator: ast.expr, denominator: ast.expr) -> None:
        around = loops(node, self.facts.parent_of)
        if not around:
            return
        accumulates = ACCUMULATION.search(ast.unparse(denominator)) or modulo_steps(around[0])
        kind = classify(numerator, node, self.facts)
        if accumulates and kind and kind[0] == "loss" and kind[2].weighted and kind[2].reduction == "mean":
            self.report(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        """`loss_fn(...) / k`, `loss / k`."""
        if isinstance(node.op, ast.Div):
            self._check(node, node.left, node.right)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        """`loss /= k`."""
        if isinstance(node.op, ast.Div) and isinstance(node.target, ast.Name):
            self._check(node, ast.Name(node.target.id, ctx=ast.Load()), node.value)
        self.generic_visit(node)


@register
class LeftoverMicroBatches(Rule):
    """LB502: accumulation that never steps on the epoch's last, incomplete group of micro-batches."""

    code = "LB502"

    def visit_For(self, node: ast.For) -> None:
        """Report a modulo step with no step for the leftovers, in the loop or after it."""
        steps = modulo_steps(node)
        if steps and calls_in(node, "backward") and not any(isinstance(s.test, ast.BoolOp) for s in steps):
            outside = [c for c in _optimizer_steps(node) if not any(c in set(ast.walk(s)) for s in steps)]
            scope = scope_of(node, self.facts.parent_of)
            after = [c for c in _optimizer_steps(scope) if c.lineno > (node.end_lineno or 0)]
            if not outside and not after and not self.facts.drop_last:
                self.report(steps[0])
        self.generic_visit(node)
