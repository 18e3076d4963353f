"""Run chapter notebooks top to bottom in a fresh kernel and store their outputs.

This is "Restart & Run All" from the command line: the only way outputs get into the
committed notebooks. Usage: `python scripts/execute_notebooks.py book/01_softmax.ipynb ...`
(or `make notebooks` for all of them). Needs the datasets (see README: LOSSBOOK_DATA).

Each notebook's metadata records what produced its outputs (`metadata.lossbook`): the
versions of Python and of the packages that compute, and the thread setting; a test
checks them against the lock, requirements.txt.
"""

import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import nbformat
from nbclient import NotebookClient

# The packages whose versions can change a chapter's outputs.
RECORDED = ("torch", "torchvision", "numpy", "scipy", "matplotlib", "torchmetrics", "lossbook")


def provenance() -> dict:
    """What computes the outputs: versions, and the setting that fixes the thread count."""
    return {
        "python": platform.python_version(),
        "packages": {name: metadata.version(name) for name in RECORDED},
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
    }


def execute(path: Path) -> float:
    """Execute one notebook in place, in its own folder; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    # Timing metadata would change every run and bloat the diffs.
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    nb.metadata["lossbook"] = provenance()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(paths: list[str]) -> None:
    """Execute every notebook given on the command line."""
    if not paths:
        sys.exit(__doc__)
    for name in paths:
        print(f"{name}: {execute(Path(name)):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
