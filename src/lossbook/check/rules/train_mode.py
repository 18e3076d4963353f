"""LB303: `model.eval()` inside a training loop with no `model.train()` to switch back.

Taught in chapter 3, "Averaging loss and accuracy honestly" (`model.train()`,
`model.eval()` and `torch.no_grad()`), and pair 5 of the appendix "Common mistakes": a
`model.train()` called once before the epochs, while an evaluation inside the loop calls
`model.eval()`, trains every later step without dropout and with frozen batch-norm
statistics. A loop that calls `backward()` and switches the model it trains to evaluation
mode (directly, or through a function of the same file whose body calls `.eval()` on its
argument) must also call `.train()` somewhere inside it.

>>> from lossbook.check import check_source
>>> code = '''
... model.train()
... for epoch in range(num_epochs):
...     for X, y in train_loader:
...         loss_fn(model(X), y).backward()
...     model.eval()
... '''
>>> [f.code for f in check_source(code)]
['LB303']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check._syntax import calls_in, dotted, is_constant, last_name, walk_scope

__all__ = ["EvalNotUndone"]


def _mode_calls(function: ast.AST, method: str) -> list[str]:
    """The receivers of `.eval()` (or `.train()`) calls in a function: its parameters' names by position."""
    params = [a.arg for a in getattr(function, "args", ast.arguments()).args]
    found = []
    for call in calls_in(function, method):
        receiver = dotted(call.func.value) if isinstance(call.func, ast.Attribute) else ""
        if receiver in params:
            found.append(str(params.index(receiver) - (params[:1] == ["self"])))
        elif receiver.startswith("self."):
            found.append(receiver)
    return found


@register
class EvalNotUndone(Rule):
    """LB303: a training loop that leaves the model in evaluation mode for its next steps."""

    code = "LB303"

    def visit_Module(self, node: ast.Module) -> None:
        """Find the helpers that switch modes, then check every training loop."""
        functions = self.facts.nodes(ast.FunctionDef, ast.AsyncFunctionDef)
        self.evals = {f.name: _mode_calls(f, "eval") for f in functions if _mode_calls(f, "eval")}
        self.trains = {f.name for f in functions if calls_in(f, "train")}
        self.generic_visit(node)

    def _switch(self, call: ast.Call) -> str | None:
        """The model that `call` switches to evaluation mode, as it is named at the call, or None."""
        if last_name(call.func) == "eval" and isinstance(call.func, ast.Attribute) and not call.args:
            return dotted(call.func.value) or None
        for receiver in self.evals.get(last_name(call.func), []):
            if receiver.startswith("self."):
                return receiver
            index = int(receiver)
            if 0 <= index < len(call.args):
                return dotted(call.args[index]) or None
        return None

    def visit_For(self, node: ast.AST) -> None:
        """Report the first switch to evaluation mode of the model this loop trains."""
        calls = [n for n in walk_scope(node) if isinstance(n, ast.Call)]
        trains = any(last_name(c.func) == "train" and (not c.args or is_constant(c.args[0], True))
                     or last_name(c.func) in self.trains for c in calls)
        if calls_in(node, "backward") and not trains:
            called = {dotted(c.func) for c in calls}
            for call in calls:
                model = self._switch(call)
                if model and model in called:
                    self.report(call)
                    break
        self.generic_visit(node)

    visit_While = visit_For
