"""How fast is `python -m lossbook check`? Files and lines per second on a folder.

Run with `make bench` (on the repository's own sources and the book), or on any folder:
`python benchmarks/check.py ~/src/pytorch-examples`. Reads every file once, then times
checking them all (best of `--repeat` runs, reading included), and prints the rates. Not a
test: nothing is asserted.
"""

import argparse
import time

from lossbook.check._cli import _files
from lossbook.check._core import check_source
from lossbook.check._sources import CheckError, read


def check_all(files) -> tuple[int, int]:
    """Check every file; return (findings, files that could not be checked)."""
    found = errors = 0
    for file in files:
        try:
            found += len(check_source(read(file), str(file)))
        except CheckError as error:
            found, errors = found + len(error.findings), errors + 1
    return found, errors


def main() -> None:
    """Time the checker on the folders given (default: src, tests and book)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["src", "tests", "book"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = list(_files(args.paths))
    lines = 0
    for file in files:
        try:
            lines += len(read(file).text.splitlines())
        except CheckError:
            pass
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        found, errors = check_all(files)
        best = min(best, time.perf_counter() - start)
    notebooks = sum(f.suffix == ".ipynb" for f in files)
    print(f"{', '.join(args.paths)}: {len(files)} files ({notebooks} notebooks), {lines:,} lines of Python, "
          f"{found} findings, {errors} not checked")
    print(f"best of {args.repeat}: {best:.2f} s = {len(files) / best:,.0f} files/s, "
          f"{lines / best:,.0f} lines/s")


if __name__ == "__main__":
    main()
