r"""Reading `.py` files and `.ipynb` notebooks for `lossbook.check`, with each line's location.

A notebook's code cells are read as one module, in order (a name defined in one cell is
known in the next), after IPython's magics and shell lines (`%time`, `!pip install ...`)
become `pass`; a cell magic such as `%%bash` skips its cell. A finding in a notebook names
its cell by position, counting every cell from 1 (markdown included), then the line in it.

>>> cell = {"cell_type": "code", "source": ["!pip install x\n", "y = 1"]}
>>> source = Source.from_notebook(json.dumps({"cells": [cell]}))
>>> source.text
'pass\ny = 1'
>>> source.where(2)
('cell 1', 2)
"""

import dataclasses
import json
import re
from pathlib import Path

__all__ = ["CheckError", "Source", "read"]

_MAGIC = re.compile(r"^\s*(%{1,2}[A-Za-z]|!(?!=)|\?|[\w.]+\s*=\s*(%[A-Za-z]|!(?!=))|[\w.]+\?{1,2}\s*$)")
# A magic names itself right after the % (a line starting "%(a, b)" continues a % format).
# Cell magics whose body is still Python.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "writefile", "cache"}


class CheckError(Exception):
    """A file that cannot be checked (unreadable, not a notebook, not valid Python).

    Attributes:
        findings: what was found anyway (in a notebook, the cells that do parse).
    """

    def __init__(self, message: str, findings: list | None = None):
        super().__init__(message)
        self.findings = findings or []


@dataclasses.dataclass
class Source:
    """Python source text, and for a notebook the cell each line came from.

    Attributes:
        text: the Python source (a notebook's code cells joined).
        cells: for a notebook, `(first line, cell number)` of each code cell, in order.
    """

    text: str
    cells: list[tuple[int, int]] = dataclasses.field(default_factory=list)

    @classmethod
    def from_notebook(cls, raw: str) -> "Source":
        """The code cells of the notebook `raw` (its JSON text), magics replaced by `pass`."""
        try:
            notebook = json.loads(raw)
            cells = notebook["cells"] if "cells" in notebook else [  # nbformat 3: worksheets
                cell | {"source": cell.get("input", "")}
                for sheet in notebook["worksheets"] for cell in sheet["cells"]]
        except (ValueError, KeyError, TypeError) as error:
            raise CheckError(f"not a Jupyter notebook ({error})") from None
        lines: list[str] = []
        starts = []
        for number, cell in enumerate(cells, 1):
            if cell.get("cell_type") != "code":
                continue
            text = cell.get("source", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            starts.append((len(lines) + 1, number))
            lines += _python_lines(text.splitlines() or [""])
        return cls("\n".join(lines), starts)

    def without_cell_at(self, line: int) -> "Source":
        """The same notebook with the code cell holding `line` blanked (lines kept, so places stay)."""
        starts = [s for s, _ in self.cells] + [len(self.text.splitlines()) + 1]
        first = max(s for s in starts[:-1] if s <= line)
        end = starts[starts.index(first) + 1]
        lines = self.text.splitlines()
        lines[first - 1:end - 1] = [""] * (end - first)
        return Source("\n".join(lines), self.cells)

    def where(self, line: int) -> tuple[str | None, int]:
        """The cell (`"cell 3"`, or None for a `.py` file) and line in it of the source's `line`."""
        start, number = next(((s, n) for s, n in reversed(self.cells) if s <= line), (1, None))
        return (f"cell {number}" if number is not None else None), line - start + 1


def _python_lines(lines: list[str]) -> list[str]:
    """A cell's lines with magics and shell escapes as `pass` (so that blocks stay valid)."""
    first = lines[0].strip()
    if first.startswith("%%"):
        if first[2:].split(" ")[0] not in _PYTHON_CELL_MAGICS:
            return ["pass"] + [""] * (len(lines) - 1)
        lines = ["pass", *lines[1:]]
    return [line[: len(line) - len(line.lstrip())] + "pass" if _MAGIC.match(line) else line
            for line in lines]


def read(path: str | Path) -> Source:
    """Read a `.py` file or an `.ipynb` notebook.

    Raises:
        CheckError: the file cannot be read or decoded.
    """
    try:
        raw = Path(path).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise CheckError(f"cannot read: {reason}") from None
    return Source.from_notebook(raw) if str(path).endswith(".ipynb") else Source(raw)
