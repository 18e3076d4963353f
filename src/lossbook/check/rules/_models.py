r"""Whether a model defined in the same file behaves the same in training and evaluation mode.

`model.eval()` changes only dropout and normalisation layers that keep running statistics
(chapter 3, "Averaging loss and accuracy honestly": `model.train()`, `model.eval()` and
`torch.no_grad()`). A model built in the file from layers known to ignore the mode (an
`nn.Sequential` of `Linear` and `ReLU`, a class whose layers are all such) gives the same
outputs either way, so LB302 has nothing to report for it. Anything unknown counts as
mode-dependent.

>>> import ast
>>> from lossbook.check._facts import Facts
>>> tree = ast.parse("model = nn.Sequential(nn.Linear(784, 10), nn.ReLU())\nmodel(X)")
>>> mode_free(tree.body[1].value, Facts(tree))
True
"""

import ast

from lossbook.check._facts import Facts
from lossbook.check._syntax import is_constant, last_name

__all__ = ["mode_free"]

SAFE_LAYERS = {
    "Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "ConvTranspose3d", "ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Tanh",
    "Sigmoid", "Softmax",
    "LogSoftmax", "Softplus", "Hardtanh", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
    "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Flatten", "Unflatten",
    "Embedding", "EmbeddingBag", "LSTM", "GRU", "RNN", "Identity", "LayerNorm", "GroupNorm", "Sequential",
    "ModuleList", "ModuleDict", "Upsample", "ZeroPad2d", "Parameter", "Module", "PixelShuffle",
}
_METHODS = {"to", "cuda", "cpu", "double", "float", "half"}


def _free(nodes: list[ast.AST], facts: Facts, seen: set[str], line: int = 10**9) -> bool:
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Attribute) and n.attr == "training":
                return False
            if not isinstance(n, ast.Call):
                continue
            name = last_name(n.func)
            if "dropout" in name.lower() or "norm" in name.lower() and name not in SAFE_LAYERS:
                return False
            if any(k.arg == "dropout" and not is_constant(k.value, 0, 0.0) for k in n.keywords):
                return False
            if name[:1].isupper() and name not in SAFE_LAYERS and not _class_free(name, facts, seen, line):
                return False
    return True


def _class_free(name: str, facts: Facts, seen: set[str], line: int) -> bool:
    """Whether the class `name` defined in the file (last before `line`) has mode-free layers only."""
    if name in seen:
        return True
    classes = [n for n in facts.nodes(ast.ClassDef) if n.name == name]
    before = [n for n in classes if n.lineno < line] or classes
    cls = max(before, key=lambda n: n.lineno) if before else None
    return cls is not None and _free(cls.body, facts, seen | {name}, line)


def mode_free(call: ast.Call, facts: Facts) -> bool:
    """Whether the model that `call` runs (`model(X)`) is built in the file from mode-free layers."""
    if not isinstance(call.func, ast.Name):
        return False
    value = facts.assigned_before(call.func.id, call)
    while isinstance(value, ast.Call) and last_name(value.func) in _METHODS:
        value = value.func.value if isinstance(value.func, ast.Attribute) else None
    if not isinstance(value, ast.Call):
        return False
    name = last_name(value.func)
    if name in SAFE_LAYERS - {"Sequential"}:  # model = nn.Linear(784, 10)
        return _free(value.args + [k.value for k in value.keywords], facts, set())
    if name == "Sequential":
        return _free([value], facts, set())
    free = _class_free(name, facts, set(), call.lineno) and _free(value.args, facts, set())
    return name[:1].isupper() and free
