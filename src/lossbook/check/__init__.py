r"""`python -m lossbook check PATH...`: the book's mistakes found in your own training code.

A static checker on the standard library's `ast`, so that it runs anywhere PyTorch code
does, Colab included, with nothing to install. Each rule has a code (`LB101`), a message that
says why and how to fix it, and the chapter that explains it; `RULES` lists them. It reads
`.py` files and the code cells of `.ipynb` notebooks. The appendix "Common mistakes: a
checklist" runs it on its own wrong and right pairs. `lossbook.check.runtime` checks at run
time what reading cannot decide (a loss fed a softmax from a model defined elsewhere), and
`lossbook.check.flake8` plugs the rules into flake8.

>>> findings = check_source("acc = correct / len(test_loader)")
>>> findings
[]
>>> code = "for X, y in test_loader:\n    correct += (model(X).argmax(1) == y).sum().item()\n"
>>> [f.code for f in check_source(code + "acc = correct / len(test_loader)")]
['LB301', 'LB302', 'LB103']
"""

from lossbook.check._cli import check_paths, main
from lossbook.check._core import RULES, Finding, Rule, check_source
from lossbook.check._sources import CheckError

__all__ = ["RULES", "CheckError", "Finding", "Rule", "check_paths", "check_source", "main"]
