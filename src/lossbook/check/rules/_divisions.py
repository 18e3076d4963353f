r"""Where a running total is divided after its loop: the places LB101-LB103 check.

`divisions` finds `total / d` and `total /= d` after the loop that sums `total`;
`list_means` finds the mean of a list filled in the loop (`np.mean(losses)`,
`sum(losses) / len(losses)`), a mean over batches by construction. The chapter
"Averaging loss and accuracy honestly" (3) explains why the divisor matters.

>>> import ast
>>> from lossbook.check._facts import Facts
>>> from lossbook.check.rules._loops import updates
>>> facts = Facts(ast.parse("for X, y in loader:\n    s += loss_fn(X, y).item()\nm = s / n"))
>>> [ast.unparse(d) for _, d in divisions(updates(facts)[0], facts)]
['n']
"""

import ast

from lossbook.check._facts import Facts, scope_of
from lossbook.check._syntax import dotted, is_call, last_name, walk_scope
from lossbook.check.rules._loops import Update, body_end

__all__ = ["divisions", "list_means"]


def divisions(update: Update, facts: Facts) -> list[tuple[ast.AST, ast.expr]]:
    """After the update's loop, in its scope: (node, divisor) for each `total / d` or `total /= d`."""
    scope, end, found = scope_of(update.loop, facts.parent_of), body_end(update.loop), []
    for node in walk_scope(scope):
        if getattr(node, "lineno", 0) <= end:
            continue
        divides = isinstance(getattr(node, "op", None), ast.Div)
        if divides and isinstance(node, ast.AugAssign) and dotted(node.target) == update.target:
            found.append((node, node.value))
        elif divides and isinstance(node, ast.BinOp) and _holds(node.left, update.target):
            found.append((node, node.right))
    return found


def _holds(expr: ast.expr, target: str) -> bool:
    """Whether `expr` is `target`, `target.item()`, `float(target)`, or a product with it."""
    while isinstance(expr, ast.Call):
        if is_call(expr, "item") and isinstance(expr.func, ast.Attribute):
            expr = expr.func.value
        elif dotted(expr.func) == "float" and expr.args:
            expr = expr.args[0]
        else:
            break
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
        return _holds(expr.left, target) or _holds(expr.right, target)
    return dotted(expr) == target


def list_means(update: Update, facts: Facts) -> list[ast.AST]:
    """After a list's loop: `np.mean(totals)`, `sum(totals) / len(totals)`, `torch.tensor(totals).mean()`."""
    scope, end, found = scope_of(update.loop, facts.parent_of), body_end(update.loop), []
    for node in walk_scope(scope):
        if getattr(node, "lineno", 0) <= end or not isinstance(node, ast.Call | ast.BinOp):
            continue
        if isinstance(node, ast.BinOp):
            if (isinstance(node.op, ast.Div) and is_call(node.left, "sum") and is_call(node.right, "len")
                    and [dotted(a) for a in node.left.args + node.right.args] == [update.target] * 2):
                found.append(node)
        elif last_name(node.func) == "mean" and node.args and dotted(node.args[0]) == update.target:
            found.append(node)
        elif (is_call(node, "mean") and isinstance(node.func, ast.Attribute) and not node.args
              and is_call(node.func.value, "tensor", "stack", "array", "Tensor")
              and [dotted(a) for a in node.func.value.args[:1]] == [update.target]):
            found.append(node)
    return found
