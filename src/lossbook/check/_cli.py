"""The command line of `lossbook.check`: `python -m lossbook check [options] PATH...`.

Prints one line per finding, `path:line:col LBnnn message (chapter)` (in a notebook,
`path:cell N:line:col`), or with `--format json` a JSON list. Exits 1 when it finds
something, 0 when everything is clean, 2 when a path cannot be read or parsed (one line
on stderr each, never a traceback). Directories are searched for `.py` and `.ipynb` files.

>>> main(["--list-rules", "--select", "LB101"])
LB101 the mean of batch means: ...
0
"""

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from lossbook.check._core import RULES, Finding, check_source
from lossbook.check._sources import CheckError, read

__all__ = ["main", "check_paths", "select"]

_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", "node_modules", "site-packages", "_build", "build"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lossbook check",
        description="Find the book's mistakes (mean of batch means, running_loss += loss, softmax "
                    "before CrossEntropyLoss, ...) in .py files and .ipynb notebooks.",
        epilog="Exit status: 0 clean, 1 findings, 2 a file could not be read or parsed. "
               "Silence one line with '# noqa: LB101' (or a bare '# noqa').")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to check")
    parser.add_argument("--select", default="", help="comma-separated codes or prefixes to run (LB1,LB201)")
    parser.add_argument("--ignore", default="", help="comma-separated codes or prefixes to skip")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--list-rules", action="store_true", help="print every rule and exit")
    return parser


def select(selected: str = "", ignored: str = "") -> set[str]:
    """The codes to run: those matching a prefix in `selected` (all if empty), minus `ignored`.

    >>> sorted(select("LB10", "LB102"))
    ['LB101', 'LB103', 'LB104']
    """
    import lossbook.check.rules  # noqa: F401  (registers the rules)

    def prefixes(text: str) -> list[str]:
        return [p.strip().upper() for p in text.split(",") if p.strip()]

    chosen, dropped = prefixes(selected) or ["LB"], prefixes(ignored)
    return {code for code in RULES
            if code.startswith(tuple(chosen)) and not (dropped and code.startswith(tuple(dropped)))}


def _files(paths: Iterable[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                parts = file.relative_to(path).parts
                if (file.suffix in (".py", ".ipynb") and file.is_file()
                        and not any(p in _SKIP_DIRS or p.startswith(".") for p in parts[:-1])):
                    yield file
        else:
            yield path


def check_paths(paths: Iterable[str], codes: set[str] | None = None) -> tuple[list[Finding], list[str]]:
    """Check files and directories; return the findings and the errors (`path: reason`)."""
    findings, errors = [], []
    for file in _files(paths):
        try:
            findings += check_source(read(file), str(file), codes)
        except CheckError as error:
            errors.append(f"{file}: error: {error}")
            findings += error.findings
        except (RecursionError, MemoryError) as error:  # a file nested too deep for ast
            errors.append(f"{file}: error: too deeply nested to check ({type(error).__name__})")
        except Exception as error:  # a bug of lossbook.check: one line, never a traceback
            errors.append(f"{file}: error: lossbook.check failed here ({type(error).__name__}: {error}); "
                          "please report it")
    return findings, errors


def main(argv: list[str] | None = None) -> int:
    """Run the checker as `python -m lossbook check` does; return the exit status."""
    args = _parser().parse_args(argv)
    codes = select(args.select, args.ignore)
    if args.list_rules:
        for code in sorted(codes):
            print(code, RULES[code].text())
        return 0
    if not args.paths:
        _parser().error("give at least one PATH")
    findings, errors = check_paths(args.paths, codes)
    if args.format == "json":
        rows = [{"path": f.path, "cell": f.cell, "line": f.line, "column": f.col, "code": f.code,
                 "message": f.message} for f in findings]
        print(json.dumps(rows, indent=2))
    else:
        for finding in findings:
            print(finding)
    for error in errors:
        print(error, file=sys.stderr)
    return 2 if errors else 1 if findings else 0
