"""`lossbook.check` as a flake8 plugin: the `LB` codes in an existing flake8 set-up.

`pyproject.toml` declares the entry point (`[project.entry-points."flake8.extension"]
LB = "lossbook.check.flake8:Plugin"`), so that with lossbook installed, `flake8 --select
LB` runs the book's rules; flake8 itself handles `# noqa`, `--select` and `--ignore`, and
is not a dependency of lossbook. flake8 reads `.py` files only: run `python -m lossbook check`
on notebooks. The rules are those of the appendix "Common mistakes: a checklist".

>>> import ast
>>> tree = ast.parse("kl = nn.KLDivLoss()")
>>> [(line, col, text[:5]) for line, col, text, _ in Plugin(tree, "train.py").run()]
[(1, 5, 'LB601')]
"""

import ast
from collections.abc import Iterator

import lossbook
from lossbook.check._core import check_tree

__all__ = ["Plugin"]


class Plugin:
    """A flake8 "tree" plugin: flake8 builds it with the parsed module and calls `run()`."""

    name = "lossbook"
    version = lossbook.__version__

    def __init__(self, tree: ast.Module, filename: str = "(none)"):
        self.tree = tree
        self.filename = filename

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        """Yield `(line, column from 0, "LBnnn message", type(self))` per finding, as flake8 wants."""
        for finding in check_tree(self.tree):
            yield finding.line, finding.col - 1, f"{finding.code} {finding.message}", type(self)
