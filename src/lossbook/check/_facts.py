"""What the rules of `lossbook.check` need to know about a file: its losses and activations.

A loss is recognised by its class (`nn.CrossEntropyLoss(...)`, bound to a name such as
`criterion` or `self.loss_fn`), by its function (`F.cross_entropy`), or by one of the
conventional names (`criterion`, `loss_fn`, ...), which are taken to be mean-reduced losses
of an unknown kind. The chapters "Cross-entropy" (2) and "Averaging loss and accuracy
honestly" (3) explain why the reduction and the weights of a loss matter.

>>> facts = Facts(ast.parse("criterion = nn.CrossEntropyLoss(ignore_index=0)"))
>>> facts.losses["criterion"]
[(1, LossInfo(kind='CrossEntropyLoss', reduction='mean', weighted=True))]
"""

import ast

from lossbook.check._losses import CONVENTIONAL, FUNCTIONAL, NN_BASES, LossInfo, base, loss_class, loss_info
from lossbook.check._syntax import dotted, is_constant, keyword, last_name, walk_scope

__all__ = ["LossInfo", "Facts", "scope_of", "loss_class"]

ACTIVATIONS = {"softmax": "softmax", "log_softmax": "log_softmax", "sigmoid": "sigmoid",
               "Softmax": "softmax", "LogSoftmax": "log_softmax", "Sigmoid": "sigmoid"}
_TORCH_BASES = {"F", "functional", "nn.functional", "torch.nn.functional", "torch", "torch.special"}
_MOVES = {"to", "cuda", "cpu", "double", "float", "half"}


def scope_of(node: ast.AST, parent_of: dict[ast.AST, ast.AST]) -> ast.AST:
    """The function (or module) whose body holds `node`."""
    while node in parent_of:
        node = parent_of[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return node
    return node


class Facts:
    """Facts about one parsed file, computed once and shared by every rule.

    Attributes:
        tree: the module.
        parent_of: each node's parent.
        losses: dotted names bound to a loss object (`criterion`, `self.loss_fn`): (line, loss) each.
        functions: the names of the functions defined in the file.
        drop_last: whether any call passes `drop_last=True` (then every batch is full).
        by_type: the nodes of each type (`"Call"`, `"For"`), in the order of `ast.walk`.
    """

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.parent_of: dict[ast.AST, ast.AST] = {}
        self.by_type: dict[str, list[ast.AST]] = {}
        for node in ast.walk(tree):  # the one walk of the whole tree
            self.by_type.setdefault(type(node).__name__, []).append(node)
            self.parent_of.update((child, node) for child in ast.iter_child_nodes(node))
        self.losses: dict[str, list[tuple[int, LossInfo]]] = {}
        self.functions = {n.name for n in self.nodes(ast.FunctionDef, ast.AsyncFunctionDef)}
        self._bindings: dict[str, list[tuple[int, LossInfo | None, str | None]]] = {}
        self.functional: set[str] = set()
        self._assigned: dict[ast.AST, dict[str, list[tuple[int, ast.expr]]]] = {}
        self.drop_last = False
        self.cache: dict[str, object] = {}
        self.activation_classes: dict[str, str] = {}
        self.activation_classes = returns_activation = self._activation_classes(tree)
        for node in self.nodes(ast.ImportFrom, ast.Call, ast.Assign, ast.AnnAssign):
            if isinstance(node, ast.ImportFrom) and node.module == "torch.nn.functional":
                self.functional |= {alias.asname or alias.name for alias in node.names}
            elif isinstance(node, ast.Call) and is_constant(keyword(node, "drop_last"), True):
                self.drop_last = True
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                info, activation = loss_class(node.value), self._module_activation(node.value)
                if isinstance(node.value, ast.Call) and last_name(node.value.func) in returns_activation:
                    activation = returns_activation[last_name(node.value.func)]
                value = node.value
                moved = isinstance(value, ast.Call) and last_name(value.func) in _MOVES and not value.args[1:]
                for name in filter(None, map(dotted, targets)):
                    if moved and dotted(getattr(value.func, "value", None)) == name:
                        continue  # model = model.to(device): the same model
                    self._bindings.setdefault(name, []).append((node.lineno, info, activation))
        for name, bound in self._bindings.items():
            bound.sort(key=lambda binding: binding[0])
            if any(info for _, info, _ in bound):
                self.losses[name] = [(line, info) for line, info, _ in bound if info]

    def _bound(self, name: str, line: int) -> tuple[int, LossInfo | None, str | None] | None:
        """The binding of `name` in force at `line`: the last one before it, else the first one."""
        bound = self._bindings.get(name)
        if not bound:
            return None
        before = [binding for binding in bound if binding[0] <= line]
        return before[-1] if before else bound[0]

    @staticmethod
    def _module_activation(value: ast.expr) -> str | None:
        if not isinstance(value, ast.Call) or base(value.func) not in NN_BASES:
            return None
        name = last_name(value.func)
        if name == "Sequential" and value.args:
            return Facts._module_activation(value.args[-1])
        return ACTIVATIONS.get(name) if name[:1].isupper() else None

    def _activation_classes(self, tree: ast.Module) -> dict[str, str]:
        """Classes whose `forward` always returns a softmax, log-softmax or sigmoid."""
        found = {}
        for cls in self.nodes(ast.ClassDef):
            for forward in (f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "forward"):
                kinds = {self.activation(r.value, r) for r in walk_scope(forward)
                         if isinstance(r, ast.Return) and r.value is not None}
                if len(kinds) == 1 and None not in kinds:
                    found[cls.name] = kinds.pop()
        return found

    def nodes(self, *types: type) -> list[ast.AST]:
        """The nodes of the given types, in the order of `ast.walk` within each type."""
        return [node for kind in types for node in self.by_type.get(kind.__name__, ())]

    def assigned_before(self, name: str, node: ast.AST) -> ast.expr | None:
        """The value last assigned to the plain name `name` before `node`'s line, in its scope."""
        scope = scope_of(node, self.parent_of)
        if scope not in self._assigned:
            table: dict[str, list[tuple[int, ast.expr]]] = {}
            for n in walk_scope(scope):
                for target in n.targets if isinstance(n, ast.Assign) else ():
                    pairs = [(target, n.value)]
                    if isinstance(target, ast.Tuple) and isinstance(n.value, ast.Tuple):
                        pairs = list(zip(target.elts, n.value.elts, strict=False))  # total, correct = 0.0, 0
                    for bound, value in pairs:
                        if isinstance(bound, ast.Name):
                            table.setdefault(bound.id, []).append((n.lineno, value))
            self._assigned[scope] = table
        earlier = [(line, v) for line, v in self._assigned[scope].get(name, []) if line < node.lineno]
        return max(earlier, key=lambda pair: pair[0])[1] if earlier else None

    def loss(self, call: ast.AST) -> LossInfo | None:
        """The loss that `call` computes (`criterion(logits, y)`, `F.nll_loss(...)`), or None."""
        if not isinstance(call, ast.Call):
            return None
        func, name = call.func, last_name(call.func)
        functional = base(func) in _TORCH_BASES - {"torch"} or dotted(func) in self.functional
        if name in FUNCTIONAL and functional:
            return loss_info(FUNCTIONAL[name], call)
        if isinstance(func, ast.Call):
            return loss_class(func)
        bound = self._bound(dotted(func), call.lineno)  # in a notebook, names are often rebound
        if bound and bound[1]:
            return bound[1]
        if not dotted(func) or not CONVENTIONAL.match(name):
            return None
        # A loss function of the file's own (`def loss_function(...)`): its reduction is unknown.
        return LossInfo("unknown", "unknown" if name in self.functions else "mean")

    def activation(self, expr: ast.AST, at: ast.AST | None = None, depth: int = 0) -> str | None:
        """Whether `expr` is the output of a softmax, log-softmax or sigmoid: its name, or None."""
        if isinstance(expr, ast.Name) and depth < 3:
            value = self.assigned_before(expr.id, at or expr)
            return self.activation(value, at or expr, depth + 1) if value is not None else None
        if not isinstance(expr, ast.Call):
            return None
        func, name = expr.func, last_name(expr.func)
        if isinstance(func, ast.Call):
            return self._module_activation(func) or self.activation_classes.get(last_name(func.func))
        if name in ("softmax", "log_softmax", "sigmoid") and isinstance(func, ast.Attribute):
            owner = base(func)
            return name if owner in _TORCH_BASES or not owner.endswith(("np", "numpy", "special")) else None
        if dotted(func) in self.functional and name in ("softmax", "log_softmax", "sigmoid"):
            return name
        bound = self._bound(dotted(func), expr.lineno)
        return bound[2] if bound else None
