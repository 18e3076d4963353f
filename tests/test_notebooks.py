"""Conventions every chapter notebook follows (see README, "Writing a chapter")."""

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def code_cells(path):
    cells = json.loads(path.read_text())["cells"]
    return [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    stack = list(toc.get("chapters", [])) + list(toc.get("parts", []))
    while stack:
        entry = stack.pop()
        files += [entry["file"]] if "file" in entry else []
        stack += entry.get("chapters", []) + entry.get("sections", [])
    return files


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    files = toc_files()
    for path in CHAPTERS:
        assert f"book/{path.stem}" in files, f"{path.name} is missing from _toc.yml"
    for name in files:
        assert list(ROOT.glob(f"{name}.*")), f"_toc.yml lists {name}, which does not exist"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_installs_lossbook_on_colab_from_the_configured_repository(path):
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    first = code_cells(path)[0]
    source = "".join(first["source"])
    assert "google.colab" in source, "the install cell must run only on Colab"
    assert f"git+{url}" in source, f"the install cell must install from {url} (_config.yml)"
    assert "-e" not in source.split(), "no editable install on Colab"
    assert "nbval-ignore-output" in first["metadata"].get("tags", [])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_outputs_come_from_one_clean_top_to_bottom_run(path):
    cells = code_cells(path)
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), "re-run it: scripts/execute_notebooks.py"
    for cell in cells:
        # An expected error is caught and its message printed: no stored tracebacks.
        assert not [o for o in cell["outputs"] if o["output_type"] == "error"]


@pytest.mark.parametrize("path", [p for p in CHAPTERS if p.name < "90"], ids=lambda p: p.name)
def test_chapter_ends_with_checks_and_exercises_with_hidden_solutions(path):
    cells = json.loads(path.read_text())["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    exercises = [m for m in markdown if m.lstrip().startswith("## Exercises")]
    assert exercises, "a chapter ends with a '## Exercises' section"
    solutions = "".join(markdown[markdown.index(exercises[0]):]).count(":class: dropdown")
    assert 2 <= solutions <= 4, f"2-4 exercises with dropdown solutions, found {solutions}"
    assert "assert " in "".join(code_cells(path)[-1]["source"]), "the last code cell asserts"
