r"""What a loop adds up, and what the sum is divided by: the analysis behind LB101-LB104, LB602.

An *update* is `total += x`, `total = total + x` or `totals.append(x)` inside a loop, with
`x` classified as a batch loss (the value of a loss call, perhaps scaled, perhaps `.item()`),
a count of correct predictions (`(pred == y).sum()`) or a batch accuracy (`.mean()` of a
comparison, or a call to `accuracy(...)`). A divisor is classified as a number of batches
(`len(loader)`, a counter of iterations, `i + 1`) or of samples (`len(loader.dataset)`, a
counter of `y.size(0)`), as the chapter "Averaging loss and accuracy honestly" (3) names them.

>>> import ast
>>> from lossbook.check._facts import Facts
>>> facts = Facts(ast.parse("for X, y in loader:\n    total += criterion(model(X), y).item()"))
>>> [(u.target, u.kind, u.detached) for u in updates(facts)]
[('total', 'loss', True)]
"""

import ast
import dataclasses
import re

from lossbook.check._facts import Facts, LossInfo
from lossbook.check._syntax import ancestors, dotted, is_call, last_name, unwrap, walk_scope

__all__ = ["Update", "classify", "updates", "divisor", "sample_count", "no_grad", "loops",
           "body_end"]

_DETACH = {"item", "detach", "tolist", "numpy"}
_PASS = {"cpu", "to", "clone", "float", "double", "squeeze"}
_ACCURACY_FUNCS = re.compile(r"^((get|compute|calc|calculate|binary|multi|categorical)_)?acc(uracy)?$")
_NO_GRAD = {"no_grad", "inference_mode", "set_grad_enabled"}


@dataclasses.dataclass
class Update:
    """One update of a running total inside a loop (see the module's docstring)."""

    node: ast.AST
    loop: ast.For | ast.While
    target: str
    kind: str  # "loss", "count" or "accuracy"
    detached: bool
    loss: LossInfo | None = None
    scale: ast.expr | None = None
    is_list: bool = False


def body_end(loop: ast.AST) -> int:
    """The last line of a loop's body (a `for ... else:` block runs after the loop)."""
    return max(getattr(n, "end_lineno", 0) or 0 for n in loop.body)


def loops(node: ast.AST, parent_of: dict) -> list[ast.AST]:
    """The loops around `node`, innermost first."""
    return [a for a in ancestors(node, parent_of) if isinstance(a, ast.For | ast.While | ast.AsyncFor)]


def no_grad(node: ast.AST, facts: Facts) -> bool:
    """Whether `node` runs under `torch.no_grad()`, `inference_mode()` or `set_grad_enabled(...)`."""
    for a in ancestors(node, facts.parent_of):
        items = [i.context_expr for i in a.items] if isinstance(a, ast.With) else []
        decorators = a.decorator_list if isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef) else []
        if any(last_name(e.func if isinstance(e, ast.Call) else e) in _NO_GRAD for e in items + decorators):
            return True
    return False


def classify(expr: ast.expr, at: ast.AST, facts: Facts, depth: int = 0) -> tuple | None:
    """(kind, detached, loss info, scale) of an increment, or None."""
    detached = False
    while True:
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and not expr.args and (
                expr.func.attr in _DETACH | _PASS):
            detached |= expr.func.attr in _DETACH
            expr = expr.func.value
        elif isinstance(expr, ast.Call) and dotted(expr.func) == "float" and len(expr.args) == 1:
            detached, expr = True, expr.args[0]
        elif isinstance(expr, ast.Attribute) and expr.attr == "data":
            detached, expr = True, expr.value
        else:
            break
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
        for part, scale in ((expr.left, expr.right), (expr.right, expr.left)):
            found = classify(part, at, facts, depth + 1)
            if found and found[0] == "loss" and found[3] is None:
                return found[0], found[1] or detached, found[2], scale
        return None
    if isinstance(expr, ast.Name) and depth < 2:
        value = facts.assigned_before(expr.id, at)
        found = classify(value, at, facts, depth + 1) if value is not None else None
        return (found[0], found[1] or detached, *found[2:]) if found else None
    info = facts.loss(expr)
    if info is not None:
        return "loss", detached, info, None
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and _ACCURACY_FUNCS.match(expr.func.id):
        return "accuracy", detached, None, None
    compares = any(isinstance(n, ast.Compare) and isinstance(n.ops[0], ast.Eq) or is_call(n, "eq")
                   for n in ast.walk(expr))
    if compares and is_call(expr, "sum") or compares and dotted(getattr(expr, "func", None)) == "torch.sum":
        return "count", detached, None, None
    if compares and is_call(expr, "mean"):
        return "accuracy", detached, None, None
    return None


def updates(facts: Facts) -> list[Update]:
    """Every update of a running total in the file (computed once, cached on `facts`)."""
    if "updates" in facts.cache:
        return facts.cache["updates"]
    found = []
    for node in facts.nodes(ast.AugAssign, ast.Assign, ast.Expr):
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            target, value, is_list = dotted(node.target), node.value, False
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.BinOp)
              and isinstance(node.value.op, ast.Add) and dotted(node.value.left) == dotted(node.targets[0])):
            target, value, is_list = dotted(node.targets[0]), node.value.right, False
        elif isinstance(node, ast.Expr) and is_call(node.value, "append") and len(node.value.args) == 1:
            target, value, is_list = dotted(node.value.func.value), node.value.args[0], True
        else:
            continue
        around = loops(node, facts.parent_of)
        kind = classify(value, node, facts) if target and around else None
        if kind is not None:
            found.append(Update(node, around[0], target, kind[0], kind[1], kind[2], kind[3], is_list))
    facts.cache["updates"] = found
    return found


def sample_count(expr: ast.AST | None) -> bool:
    """Whether `expr` counts a batch's samples: `len(y)`, `y.size(0)`, `y.shape[0]`, `y.numel()`."""
    if isinstance(expr, ast.Call) and dotted(expr.func) == "len" and len(expr.args) == 1:
        return isinstance(expr.args[0], ast.Name | ast.Attribute | ast.Subscript)
    if is_call(expr, "size") and len(expr.args) == 1 or is_call(expr, "numel") and not expr.args:
        return not expr.args or isinstance(expr.args[0], ast.Constant) and expr.args[0].value == 0
    return (isinstance(expr, ast.Subscript) and last_name(expr.value) == "shape"
            and isinstance(expr.slice, ast.Constant) and expr.slice.value == 0)


def _counter(name: str, loop: ast.AST) -> str | None:
    """"batches" if `name += 1` in `loop`, "samples" if `name += len(y)` (or alike), else None."""
    for node in walk_scope(loop):
        if isinstance(node, ast.AugAssign) and dotted(node.target) == name and isinstance(node.op, ast.Add):
            if isinstance(node.value, ast.Constant) and node.value.value == 1:
                return "batches"
            return "samples" if sample_count(node.value) else None
    return None


def divisor(expr: ast.expr, loop: ast.AST, facts: Facts, depth: int = 0) -> str | None:
    """"batches", "samples" or None: what the divisor `expr` of a total summed in `loop` counts."""
    loader = unwrap(loop.iter) if isinstance(loop, ast.For) else None
    index = None
    if isinstance(loop, ast.For) and is_call(loop.iter, "enumerate") and isinstance(loop.target, ast.Tuple):
        index = dotted(loop.target.elts[0])
    if isinstance(expr, ast.Call) and dotted(expr.func) == "len" and len(expr.args) == 1:
        arg = expr.args[0]
        if is_call(arg, "list") and len(arg.args) == 1:  # len(list(loader))
            arg = arg.args[0]
        if loader is not None and ast.unparse(arg) == ast.unparse(loader):
            return "batches"
        return "samples" if isinstance(arg, ast.Attribute) and arg.attr in ("dataset", "sampler") else None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add) and index and dotted(expr.left) == index:
        return "batches" if isinstance(expr.right, ast.Constant) and expr.right.value == 1 else None
    if isinstance(expr, ast.Name):
        counted = _counter(expr.id, loop)
        if counted or depth:
            return counted
        value = facts.assigned_before(expr.id, loop)
        return divisor(value, loop, facts, depth + 1) if value is not None else None
    return None
