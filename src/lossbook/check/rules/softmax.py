"""LB201-LB206: a loss fed the wrong kind of input, and `log(softmax)`.

Taught in chapter 2, "Cross-entropy" (`CrossEntropyLoss` is `LogSoftmax` followed by
`NLLLoss`; binary classification, three ways) and chapter 1, "Softmax" (`log(softmax)`
underflows, `log_softmax` does not). The input of a loss is traced through one name
(`probs = F.softmax(logits, dim=1)`), a module bound to a name (`self.softmax =
nn.Softmax(dim=1)`, an `nn.Sequential` ending in one) or a model class of the same file
whose `forward` returns a softmax.

>>> from lossbook.check import check_source
>>> [f.code for f in check_source("loss = F.cross_entropy(F.softmax(z, dim=1), y)")]
['LB201']
"""

import ast

from lossbook.check._core import Rule, register
from lossbook.check._syntax import dotted, is_call, keyword

__all__ = ["SoftmaxIntoCrossEntropy", "LogSoftmaxIntoCrossEntropy", "SoftmaxIntoNLL",
           "SigmoidIntoBCEWithLogits", "LogOfSoftmax", "SigmoidIntoBCE"]



class _InputRule(Rule):
    """Reports a call of a loss of kind `loss` whose input came out of `activation`."""

    loss = ""
    activation = ""

    def visit_Call(self, node: ast.Call) -> None:
        """Check the input of every loss call."""
        info = self.facts.loss(node)
        first = node.args[0] if node.args else keyword(node, "input")
        if info is not None and info.kind == self.loss and first is not None:
            if self.facts.activation(first, node) == self.activation:
                self.report(node)
        self.generic_visit(node)


def _input_rule(name: str, code: str, loss: str, activation: str, doc: str) -> type[Rule]:
    """A registered `_InputRule` subclass: `loss` must not be fed the output of `activation`."""
    attributes = {"__doc__": f"{code}: {doc}.", "__module__": __name__, "__qualname__": name,
                  "code": code, "loss": loss, "activation": activation}
    return register(type(name, (_InputRule,), attributes))


SoftmaxIntoCrossEntropy = _input_rule("SoftmaxIntoCrossEntropy", "LB201", "CrossEntropyLoss", "softmax",
                                      "probabilities fed to `CrossEntropyLoss`, which applies log-softmax")
LogSoftmaxIntoCrossEntropy = _input_rule("LogSoftmaxIntoCrossEntropy", "LB202", "CrossEntropyLoss",
                                         "log_softmax", "log-probabilities fed to `CrossEntropyLoss`")
SoftmaxIntoNLL = _input_rule("SoftmaxIntoNLL", "LB203", "NLLLoss", "softmax",
                             "probabilities fed to `NLLLoss`, which wants log-probabilities")
SigmoidIntoBCEWithLogits = _input_rule("SigmoidIntoBCEWithLogits", "LB204", "BCEWithLogitsLoss", "sigmoid",
                                       "probabilities fed to `BCEWithLogitsLoss`, which applies the sigmoid")
SigmoidIntoBCE = _input_rule("SigmoidIntoBCE", "LB206", "BCELoss", "sigmoid",
                             "`BCELoss(sigmoid(z))`, which saturates where `BCEWithLogitsLoss(z)` does not")


@register
class LogOfSoftmax(Rule):
    """LB205: `torch.log(softmax(z))` or `softmax(z).log()`: use `log_softmax(z)`."""

    code = "LB205"

    def visit_Call(self, node: ast.Call) -> None:
        """Check `torch.log(x)` and `x.log()` for a softmax `x`."""
        if dotted(node.func) == "torch.log" and len(node.args) == 1:
            inner = node.args[0]
        elif is_call(node, "log") and isinstance(node.func, ast.Attribute) and not node.args:
            inner = node.func.value
        else:
            inner = None
        if inner is not None and dotted(node.func) not in ("math.log", "np.log", "numpy.log"):
            if self.facts.activation(inner, node) == "softmax":
                self.report(node)
        self.generic_visit(node)
