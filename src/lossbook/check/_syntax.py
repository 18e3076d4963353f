"""Small helpers on the standard library's `ast` that the rules of `lossbook.check` share.

The rules read code the way a reader does, by names: `dotted(node)` spells a name or an
attribute chain (`torch.nn.functional.softmax`), `walk_scope` visits a function's own body
without the functions defined inside it, and `parents` maps every node to its parent.

>>> import ast
>>> call = ast.parse("F.softmax(logits, dim=1)").body[0].value
>>> dotted(call.func), last_name(call.func), keyword(call, "dim").value
('F.softmax', 'softmax', 1)
"""

import ast
import re
from collections.abc import Iterator

__all__ = ["dotted", "last_name", "keyword", "walk_scope", "parents", "ancestors", "unwrap",
           "is_call", "calls_in", "EVAL_NAME", "MODEL", "LOADER_WRAPPERS", "is_constant"]

# An evaluation loader, by its name: test_loader, val_dl, validloader, dataloaders["val"], ...
EVAL_NAME = re.compile(r"(^|[^a-z])(val|valid|validation|test|eval|dev)(?=[^a-z]|loader|set|data|dl|$)",
                       re.IGNORECASE)
# A model, by the name it is called with: model(X), net(X), self.classifier(h), encoder_model(x).
MODEL = re.compile(r"(model|net|classifier|clf|network)$|^model", re.IGNORECASE)
# Calls that wrap a loader without changing what it yields (but enumerate adds the index).
LOADER_WRAPPERS = {"tqdm", "enumerate", "iter", "trange", "track", "progress_bar", "tqdm.tqdm"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def dotted(node: ast.AST | None) -> str:
    """The dotted spelling of a name or attribute chain (`self.loss_fn`), else `""`.

    >>> dotted(ast.parse("torch.nn.functional.softmax").body[0].value)
    'torch.nn.functional.softmax'
    """
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def last_name(node: ast.AST | None) -> str:
    """The last part of a name or attribute (`softmax` for `torch.softmax`, or a method), else `""`.

    >>> last_name(ast.parse("x.float().softmax").body[0].value)
    'softmax'
    """
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The value passed to `call` as keyword `name`, or None.

    >>> keyword(ast.parse("f(reduction='sum')").body[0].value, "reduction").value
    'sum'
    """
    return next((k.value for k in call.keywords if k.arg == name), None)


def is_constant(node: ast.AST | None, *values: object) -> bool:
    """Whether `node` is a literal equal to one of `values` (by type and value).

    >>> is_constant(ast.parse("True").body[0].value, True)
    True
    """
    return isinstance(node, ast.Constant) and any(
        type(node.value) is type(v) and node.value == v for v in values)


def walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    r"""Every node under `node`, not descending into functions or classes defined inside it.

    >>> tree = ast.parse("def f():\n    a = 1\n    def g():\n        b = 2")
    >>> sorted(n.id for n in walk_scope(tree.body[0]) if isinstance(n, ast.Name))
    ['a']
    """
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        yield child
        if not isinstance(child, _SCOPES):
            stack.extend(ast.iter_child_nodes(child))


def parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    """Each node of `tree` mapped to its parent.

    >>> tree = ast.parse("x = 1")
    >>> parents(tree)[tree.body[0]] is tree
    True
    """
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def ancestors(node: ast.AST, parent_of: dict[ast.AST, ast.AST]) -> Iterator[ast.AST]:
    """The parents of `node`, innermost first.

    >>> tree = ast.parse("x = 1")
    >>> [type(a).__name__ for a in ancestors(tree.body[0].value, parents(tree))]
    ['Assign', 'Module']
    """
    while node in parent_of:
        node = parent_of[node]
        yield node


def unwrap(node: ast.expr) -> ast.expr:
    """A loop's iterable without `enumerate`, `tqdm` and the like around it.

    >>> ast.unparse(unwrap(ast.parse("enumerate(tqdm(test_loader), 1)").body[0].value))
    'test_loader'
    """
    while isinstance(node, ast.Call) and node.args and dotted(node.func) in LOADER_WRAPPERS:
        node = node.args[0]
    return node


def is_call(node: ast.AST, *names: str) -> bool:
    """Whether `node` calls a function or method whose last name is one of `names`.

    >>> is_call(ast.parse("loss.item()").body[0].value, "item", "detach")
    True
    """
    return isinstance(node, ast.Call) and last_name(node.func) in names


def calls_in(node: ast.AST, *names: str) -> list[ast.Call]:
    """The calls under `node` (its own scope only) of functions or methods named one of `names`.

    >>> len(calls_in(ast.parse("loss.backward(); opt.step()"), "backward", "step"))
    2
    """
    return [n for n in walk_scope(node) if is_call(n, *names)]  # type: ignore[misc]
