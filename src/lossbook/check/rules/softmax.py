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

CHAPTER_2 = 'chapter 2, "Cross-entropy"'


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


@register
class SoftmaxIntoCrossEntropy(_InputRule):
    """LB201: probabilities fed to `CrossEntropyLoss`, which applies log-softmax itself."""

    code = "LB201"
    message = ("softmax before CrossEntropyLoss/F.cross_entropy: the loss applies log_softmax itself, so "
               "softmax runs twice and the gradient vanishes when the model is confidently wrong; "
               "pass the logits")
    chapter = CHAPTER_2
    loss, activation = "CrossEntropyLoss", "softmax"


@register
class LogSoftmaxIntoCrossEntropy(_InputRule):
    """LB202: log-probabilities fed to `CrossEntropyLoss` (redundant: it applies log-softmax)."""

    code = "LB202"
    message = ("log_softmax before CrossEntropyLoss/F.cross_entropy is redundant (the loss applies it): pass "
               "the logits, or keep log_softmax and use NLLLoss")
    chapter = CHAPTER_2
    loss, activation = "CrossEntropyLoss", "log_softmax"


@register
class SoftmaxIntoNLL(_InputRule):
    """LB203: probabilities fed to `NLLLoss`, which wants log-probabilities."""

    code = "LB203"
    message = ("softmax before NLLLoss/F.nll_loss: it wants log-probabilities and checks nothing; use "
               "log_softmax (or CrossEntropyLoss on the logits)")
    chapter = CHAPTER_2
    loss, activation = "NLLLoss", "softmax"


@register
class SigmoidIntoBCEWithLogits(_InputRule):
    """LB204: probabilities fed to `BCEWithLogitsLoss`, which applies the sigmoid itself."""

    code = "LB204"
    message = ("sigmoid before BCEWithLogitsLoss/F.binary_cross_entropy_with_logits: the loss applies the "
               "sigmoid itself; pass the logits")
    chapter = CHAPTER_2
    loss, activation = "BCEWithLogitsLoss", "sigmoid"


@register
class SigmoidIntoBCE(_InputRule):
    """LB206: `BCELoss(sigmoid(z))`, which saturates; `BCEWithLogitsLoss(z)` does not."""

    code = "LB206"
    message = ("BCELoss on sigmoid(z) saturates for large logits (each log is capped at -100): use "
               "BCEWithLogitsLoss/F.binary_cross_entropy_with_logits on z")
    chapter = CHAPTER_2
    loss, activation = "BCELoss", "sigmoid"


@register
class LogOfSoftmax(Rule):
    """LB205: `torch.log(softmax(z))` or `softmax(z).log()`: use `log_softmax(z)`."""

    code = "LB205"
    message = ("log of a softmax: small probabilities round to 0 and their log to -inf; use "
               "F.log_softmax(z, dim=...) (or torch.log_softmax)")
    chapter = 'chapter 1, "Softmax"'

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
