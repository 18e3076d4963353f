"""How `lossbook.check` recognises a loss and reads its reduction and weights.

By its class (`nn.CrossEntropyLoss(reduction="sum")`), its function (`F.cross_entropy`), or
one of the conventional names (`criterion`, `loss_fn`, ...). The reduction decides whether a
batch loss is a mean (chapter 3, "Averaging loss and accuracy honestly"); `weight=` and
`ignore_index=` decide what the mean is over (chapter 6, "Averaging when samples don't count
the same").

>>> import ast
>>> loss_class(ast.parse("nn.NLLLoss(reduction='sum')").body[0].value)
LossInfo(kind='NLLLoss', reduction='sum', weighted=False)
"""

import ast
import dataclasses
import re

from lossbook.check._syntax import dotted, is_constant, keyword, last_name

__all__ = ["FUNCTIONAL", "LOSS_CLASSES", "CONVENTIONAL", "NN_BASES", "LossInfo", "loss_class", "loss_info",
           "base"]

FUNCTIONAL = {
    "cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss", "kl_div": "KLDivLoss", "mse_loss": "MSELoss",
    "l1_loss": "L1Loss", "smooth_l1_loss": "SmoothL1Loss", "huber_loss": "HuberLoss",
    "multilabel_soft_margin_loss": "MultiLabelSoftMarginLoss", "multi_margin_loss": "MultiMarginLoss",
    "poisson_nll_loss": "PoissonNLLLoss", "soft_margin_loss": "SoftMarginLoss",
}
LOSS_CLASSES = set(FUNCTIONAL.values())
CONVENTIONAL = re.compile(r"^(criterion|criteria|loss_fn|loss_func|lossfn|lossfunc|loss_function|loss_fcn"
                          r"|\w+_criterion|criterion_\w+|\w+_loss_fn)$")
NN_BASES = {"", "nn", "torch.nn"}


@dataclasses.dataclass(frozen=True)
class LossInfo:
    """A loss: its class name (or "unknown"), its reduction, and whether samples count unequally.

    `weighted` is true when the loss is built or called with `weight=` or `ignore_index=`: then a
    batch mean is not a mean over `len(y)` samples.
    """

    kind: str
    reduction: str = "mean"
    weighted: bool = False


def base(func: ast.expr) -> str:
    """What an attribute is taken from (`"torch.nn"` for `torch.nn.Softmax`), else `""`."""
    return dotted(func.value) if isinstance(func, ast.Attribute) else ""


def loss_info(kind: str, call: ast.Call) -> LossInfo:
    """A loss of class `kind`, its reduction and weights read from the keywords of `call`."""
    reduction = keyword(call, "reduction")
    value = reduction.value if isinstance(reduction, ast.Constant) else "mean"
    if reduction is not None and not isinstance(reduction, ast.Constant):
        value = "unknown"
    if is_constant(keyword(call, "size_average"), False):
        value = "sum"
    if is_constant(keyword(call, "reduce"), False):
        value = "none"
    weighted = any(keyword(call, k) is not None and not is_constant(keyword(call, k), None)
                   for k in ("weight", "ignore_index", "pos_weight"))
    return LossInfo(kind, str(value), weighted)


def loss_class(call: ast.AST) -> LossInfo | None:
    """The loss that `call` constructs (`nn.CrossEntropyLoss(weight=w)`), or None."""
    if isinstance(call, ast.Call) and last_name(call.func) in LOSS_CLASSES and base(call.func) in NN_BASES:
        return loss_info(last_name(call.func), call)
    return None
