"""The rules of `lossbook.check`, one module per family of mistakes; importing registers them.

LB1xx averaging and graphs (chapter 3), LB2xx a loss's input (chapters 1 and 2), LB3xx
evaluation and training modes (chapter 3), LB4xx several processes (chapter 3), LB5xx
gradient accumulation (chapter 6), LB6xx reductions and counts (chapters 2 and 6).
"""

from lossbook.check.rules import (
    accumulation,
    averaging,
    distributed,
    evaluation,
    graph,
    reductions,
    softmax,
    train_mode,
)

__all__ = ["accumulation", "averaging", "distributed", "evaluation", "graph", "reductions", "softmax",
           "train_mode"]
