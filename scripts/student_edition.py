"""`make book-student`: the same book without its solutions, for a teacher to publish.

Copies the book's sources (`_toc.yml`, `book/`, a student `_config.yml`) into
`_build/student-src/`, takes out of every notebook the solutions (code cells tagged
`solution`) and the discussions (the `{admonition} Discussion` dropdowns), and builds that
copy with the same `jupyter-book build -W --keep-going` into `_build/student/html`. The
stored notebooks are not touched.

A glued value (`book.glue`) lives in the outputs of the cell that computed it. A solution
cell goes with its source and outputs, except the glued values that the remaining prose
still cites (none does today; the discussions that cite them go too): those stay in an
empty cell tagged `remove-cell`, which myst-nb reads glue from but does not show, so the
`-W` build keeps every key it needs and no solution code is left, on the page or in the
downloadable notebook.

The student edition has no Colab button: it would open the repository's notebook, solutions
included. Its pages offer the stripped notebook for download instead.

    python scripts/student_edition.py [--config _config.yml]
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "_build" / "student-src"
OUTPUT = ROOT / "_build" / "student" / "html"

# A discussion: a fenced `{admonition} Discussion` block (``` or longer, or :::) whose
# options make it a dropdown. The closing fence is the opening one, alone on its line.
DISCUSSION = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{admonition\}[ \t]+Discussion[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*(?:\n|\Z)",
    re.MULTILINE | re.DOTALL,
)
# `{glue}`key``, `{glue:text}`key:.2f``, and the directives ```{glue:figure} key.
GLUE_REFERENCE = re.compile(r"\{glue(?::\w+)?\}(?:`|[ \t]+)([A-Za-z_]\w*)")
# An exercise: a markdown cell that starts `**N. Title.**`.
EXERCISE = re.compile(r"^\*\*(\d+)\. ([^*]+)\*\*")


def source(cell: dict) -> str:
    """The cell's source as one string (notebooks store it as a list of lines or not)."""
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def is_solution(cell: dict) -> bool:
    """A solution: a code cell tagged `solution`."""
    return cell["cell_type"] == "code" and "solution" in cell.get("metadata", {}).get("tags", [])


def without_discussions(text: str) -> str:
    """Markdown without its `{admonition} Discussion` dropdowns."""
    return DISCUSSION.sub(lambda m: "" if ":class: dropdown" in m["body"] else m[0], text)


def glue_keys(cell: dict) -> set[str]:
    """The keys a code cell glues (in its outputs) or a markdown cell cites."""
    if cell["cell_type"] == "markdown":
        return set(GLUE_REFERENCE.findall(source(cell)))
    return {o["metadata"]["scrapbook"]["name"] for o in cell.get("outputs", [])
            if "scrapbook" in o.get("metadata", {})}


def exercises(notebook: dict) -> list[str]:
    """The exercises' `**N. Title.**` headings, in order."""
    found = (EXERCISE.match(source(c)) for c in notebook["cells"] if c["cell_type"] == "markdown")
    return [m[0] for m in found if m]


def student_notebook(notebook: dict) -> dict:
    """A copy of `notebook` without solutions and discussions (see the module's docstring)."""
    cells = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            text = without_discussions(source(cell))
            if text.strip():
                cells.append({**cell, "source": text})
        else:
            cells.append(cell)
    cited = set().union(*(glue_keys(c) for c in cells if c["cell_type"] == "markdown"))
    kept = []
    for cell in cells:
        if not is_solution(cell):
            kept.append(cell)
        elif glue_keys(cell) & cited:
            outputs = [o for o in cell["outputs"]
                       if o.get("metadata", {}).get("scrapbook", {}).get("name") in cited]
            kept.append({**cell, "execution_count": None, "metadata": {"tags": ["remove-cell"]},
                         "outputs": outputs, "source": ""})
    return {**notebook, "cells": kept}


def student_config(config: dict) -> dict:
    """The book's configuration for the student edition."""
    config = json.loads(json.dumps(config))  # a deep copy
    config["title"] = f"{config['title']} (student edition)"
    config.get("launch_buttons", {}).pop("colab_url", None)
    config.setdefault("html", {})["announcement"] = (
        "Student edition: the exercises without their solutions.")
    return config


def copy_sources(config_path: Path) -> None:
    """Lay out `_build/student-src/`: the stripped book, ready for `jupyter-book build`."""
    shutil.rmtree(SOURCE, ignore_errors=True)
    SOURCE.mkdir(parents=True)
    shutil.copy(ROOT / "_toc.yml", SOURCE)
    config = student_config(yaml.safe_load(config_path.read_text()))
    (SOURCE / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    # MathJax and the book's CSS are static paths relative to the book (_config.yml).
    (SOURCE / "node_modules").symlink_to(ROOT / "node_modules")
    shutil.copytree(ROOT / "book", SOURCE / "book", ignore=shutil.ignore_patterns(".*"))
    for path in sorted((SOURCE / "book").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        student = student_notebook(notebook)
        path.write_text(json.dumps(student, indent=1, ensure_ascii=False) + "\n")
        removed = len(notebook["cells"]) - len(student["cells"])
        print(f"{path.name}: {len(exercises(student))} exercises, {removed} cells taken out")


def main(argv: list[str] | None = None) -> int:
    """Copy, strip and build; returns jupyter-book's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "_config.yml",
                        help="the configuration to start from (the deploy workflow's executes)")
    args = parser.parse_args(argv)
    copy_sources(args.config.resolve())
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    status = subprocess.call([jupyter_book, "build", SOURCE, "-W", "--keep-going"])
    if status == 0:
        shutil.rmtree(OUTPUT, ignore_errors=True)
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(SOURCE / "_build" / "html", OUTPUT)
        print(f"The student edition is at file://{OUTPUT}/index.html")
    return status


if __name__ == "__main__":
    sys.exit(main())
