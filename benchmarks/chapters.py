"""How long does each chapter that trains take under nbval, and where does its time go?

Run with `make bench` (needs the datasets: see README), or for some chapters only:
`python benchmarks/chapters.py book/05_mlp_mnist.ipynb --rounds 3 --profile`.

For each chapter: the wall time of `pytest --nbval` on it alone, as `make test` runs it
(one BLAS/OpenMP thread, the same sanitizer), best of `--rounds`; with `--profile`, one
more run in a kernel of its own (nbclient, as `make notebooks` runs it) that lists every
cell that took more than 0.3 s, so that a cut starts from the cells that cost.

Target: every chapter that trains at most 30 s, on an otherwise idle machine (on a shared
one, wall times move by several per cent from run to run). Exits 1 when one misses it.
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TRAINING_CHAPTERS = ["book/04_softmax_regression.ipynb", "book/05_mlp_mnist.ipynb",
                     "book/06_unequal_counts.ipynb", "book/07_beyond_accuracy.ipynb",
                     "book/08_how_sure.ipynb"]
TARGET_SECONDS = 30.0
ENV = os.environ | {"OMP_NUM_THREADS": "1"}


def nbval_seconds(chapter: str) -> float:
    """Wall time of `pytest --nbval` on one chapter, as `make test` runs it."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval",
               "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", chapter]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{chapter} fails under nbval:\n{result.stdout[-3000:]}")
    return seconds


def cell_seconds(chapter: str, threshold: float = 0.3) -> list[tuple[int, float, str]]:
    """Run the chapter once (outputs not stored) and return its slow cells: index, seconds, first line."""
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the kernel
    nb = nbformat.read(ROOT / chapter, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str((ROOT / chapter).parent)}})
    client.execute()
    slow = []
    for index, cell in enumerate(nb.cells):
        timing = cell.metadata.get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in timing:
            start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                          for key in ("iopub.execute_input", "shell.execute_reply"))
            seconds = (end - start).total_seconds()
            lines = [line for line in cell.source.splitlines() if not line.startswith("#")]
            if seconds > threshold:
                slow.append((index, seconds, (lines or [""])[0][:60]))
    return slow


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=TRAINING_CHAPTERS)
    parser.add_argument("--rounds", type=int, default=1, help="nbval runs per chapter; the best counts")
    parser.add_argument("--profile", action="store_true", help="also list the cells over 0.3 s")
    args = parser.parse_args()
    missed = []
    for chapter in args.chapters:
        best = min(nbval_seconds(chapter) for _ in range(args.rounds))
        verdict = "ok" if best <= TARGET_SECONDS else f"over the {TARGET_SECONDS:.0f} s target"
        print(f"{chapter}: {best:.1f} s under nbval (best of {args.rounds}), {verdict}", flush=True)
        if best > TARGET_SECONDS:
            missed.append(chapter)
        if args.profile:
            for index, seconds, first_line in cell_seconds(chapter):
                print(f"    cell {index:3d}: {seconds:5.2f} s  {first_line}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
