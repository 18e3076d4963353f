r"""The rules' common frame in `lossbook.check`: findings, the rule base class, `# noqa`.

Every rule is an `ast.NodeVisitor` with a code (`LB101`), a message that says what is
wrong and how to fix it, and the chapter of the book that explains it; `check_source`
runs every registered rule on one file's source and drops what `# noqa` silences.

>>> code = "s = 0\nfor X, y in test_loader:\n    s += F.cross_entropy(model(X), y)\n"
>>> [f"{f.line}:{f.col} {f.code}" for f in check_source(code)]
['2:1 LB301', '2:1 LB302', '3:5 LB104']
"""

import ast
import dataclasses
import re
import warnings

from lossbook.check._facts import Facts
from lossbook.check._sources import CheckError, Source
from lossbook.check.messages import MESSAGES

__all__ = ["Finding", "Rule", "RULES", "register", "check_source", "check_tree"]

RULES: dict[str, type["Rule"]] = {}
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One finding: where (line and column from 1; the cell in a notebook), the rule, the message."""

    line: int
    col: int
    code: str
    message: str
    path: str = ""
    cell: str | None = None

    def __str__(self) -> str:
        cell = f"{self.cell}:" if self.cell else ""
        return f"{self.path}:{cell}{self.line}:{self.col} {self.code} {self.message}"


class Rule(ast.NodeVisitor):
    """A rule: subclasses set `code`, define `visit_X` methods and call `report`.

    Attributes:
        code: `LBnnn`.
        message: what is wrong and what to write instead (set by `register`, from `MESSAGES`).
        chapter: where the book explains it, e.g. `chapter 3, "Averaging loss and accuracy honestly"`.
    """

    code = "LB000"
    message = ""
    chapter = ""

    def __init__(self, facts: Facts):
        self.facts = facts
        self.findings: list[Finding] = []

    @classmethod
    def text(cls) -> str:
        """The message with its chapter, as printed."""
        return f"{cls.message} ({cls.chapter})"

    def report(self, node: ast.AST) -> None:
        """Record a finding at `node`."""
        self.findings.append(Finding(node.lineno, node.col_offset + 1, self.code, self.text()))

    def generic_visit(self, node: ast.AST) -> None:
        """Nothing: `run` gives each `visit_X` its nodes from the one walk of the tree in `Facts`."""

    def run(self) -> list[Finding]:
        """Call `visit_Module` on the tree, then every other `visit_X` on each node of type X."""
        if hasattr(self, "visit_Module"):
            self.visit_Module(self.facts.tree)
        for name in dir(type(self)):  # (ast.NodeVisitor defines a visit_Constant of its own)
            if name.startswith("visit_") and name not in ("visit_Module", "visit_Constant"):
                for node in self.facts.by_type.get(name[6:], ()):
                    getattr(self, name)(node)
        return self.findings


def register(rule: type[Rule]) -> type[Rule]:
    """Class decorator: add `rule` to `RULES`, with its message and chapter from `MESSAGES`."""
    rule.chapter, rule.message = MESSAGES[rule.code]
    RULES[rule.code] = rule
    return rule


def check_tree(tree: ast.Module, codes: set[str] | None = None) -> list[Finding]:
    """Run the rules (all, or those in `codes`) on a parsed module; findings sorted by place."""
    import lossbook.check.rules  # noqa: F401  (registers the rules)

    facts = Facts(tree)
    found = {f for code, rule in RULES.items() if codes is None or code in codes for f in rule(facts).run()}
    return sorted(found)


def _silenced(finding: Finding, lines: list[str]) -> bool:
    line = lines[finding.line - 1] if finding.line <= len(lines) else ""
    match = _NOQA.search(line)
    if match is None:
        return False
    codes = match.group("codes")
    return codes is None or finding.code in re.split(r"[,\s]+", codes.upper())


def check_source(source: str | Source, path: str = "<string>",
                 codes: set[str] | None = None) -> list[Finding]:
    """Check one file's source (a string, or a `Source` read from a notebook).

    Raises:
        CheckError: the source is not valid Python (its location in the message); in a notebook,
            the error's `findings` hold what the cells that parse gave.
    """
    source = source if isinstance(source, Source) else Source(source)
    errors: list[str] = []
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)
                tree = ast.parse(source.text, filename=path)
            break
        except (SyntaxError, ValueError) as error:
            line = getattr(error, "lineno", None) or 1
            cell, place = source.where(line)
            where = f"{cell}:{place}" if cell else f"{place}"
            where += f":{error.offset}" if getattr(error, "offset", None) else ""
            errors.append(f"{where}: {type(error).__name__}: {getattr(error, 'msg', error)}")
            if not cell or len(errors) > len(source.cells):
                raise CheckError(errors[0]) from None
            source = source.without_cell_at(line)  # check the notebook's other cells
    lines = source.text.splitlines()
    found = []
    for finding in check_tree(tree, codes):
        if not _silenced(finding, lines):
            cell, line = source.where(finding.line)
            found.append(dataclasses.replace(finding, path=path, cell=cell, line=line))
    if errors:
        more = f" (and {len(errors) - 1} more cells)" if len(errors) > 1 else ""
        raise CheckError(f"{errors[0]}{more}; the other cells were checked", found)
    return found
