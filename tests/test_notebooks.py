"""Conventions every chapter notebook follows (see README, "Writing a chapter")."""

import json
import re
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


def markdown_source(cell):
    return "".join(cell["source"]) if cell["cell_type"] == "markdown" else ""


def exercises(path):
    """The exercises after '## Exercises': a list of (question markdown, the cells up to the next)."""
    cells = json.loads(path.read_text())["cells"]
    start = next(i for i, c in enumerate(cells) if markdown_source(c).lstrip().startswith("## Exercises"))
    found = []
    for cell in cells[start:]:
        if re.match(r"\*\*\d+\. ", markdown_source(cell).lstrip()):
            found.append((markdown_source(cell), []))
        elif found:
            found[-1][1].append(cell)
    return found


def is_solution(cell):
    metadata = cell["metadata"]
    return cell["cell_type"] == "code" and {"solution", "hide-cell"} <= set(metadata.get("tags", [])) \
        and metadata.get("mystnb", {}).get("code_prompt_show") == "Show the solution"


@pytest.mark.parametrize("path", [p for p in CHAPTERS if p.name < "90"], ids=lambda p: p.name)
def test_chapter_ends_with_checks_then_exercises(path):
    cells = json.loads(path.read_text())["cells"]
    start = next(i for i, c in enumerate(cells) if markdown_source(c).lstrip().startswith("## Exercises"))
    before = [c for c in cells[:start] if c["cell_type"] == "code"]
    assert any(markdown_source(c).lstrip().startswith("## Checks") for c in cells[:start])
    assert "assert " in "".join(before[-1]["source"]), "the checks cell, last before the exercises, asserts"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_exercise_has_an_executed_hidden_solution_that_asserts(path):
    found = exercises(path)
    assert 2 <= len(found) <= 6, f"2-6 exercises ('**N. Title.**' after '## Exercises'), found {len(found)}"
    assert any("bug" in question.lower() for question, _ in found), "one exercise is a 'find the bug'"
    for question, cells in found:
        solutions = [c for c in cells if is_solution(c)]
        title = question.split(".**")[0]
        assert solutions, f"{title}: no solution cell (tags solution, hide-cell; mystnb prompt)"
        assert any("assert " in "".join(c["source"]) for c in solutions), f"{title}: its solution asserts"
        assert all(c["execution_count"] for c in solutions), f"{title}: the solution was not run"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_a_cell_whose_output_is_not_compared_asserts_what_matters(path):
    for cell in code_cells(path)[1:]:  # the first one installs the package on Colab
        source = "".join(cell["source"])
        if source.startswith("# NBVAL_IGNORE_OUTPUT"):
            assert "assert " in source, f"an unchecked cell must assert instead:\n{source[:300]}"


def locked_versions():
    versions = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==([^ ;]+)", line)
        if match:
            versions.setdefault(match[1].lower(), set()).add(match[2])
    return versions


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_outputs_were_computed_with_the_locked_versions(path):
    provenance = json.loads(path.read_text())["metadata"].get("lossbook")
    assert provenance, "no record of what computed the outputs: run scripts/execute_notebooks.py"
    locked = locked_versions()
    for name, version in provenance["packages"].items():
        if name != "lossbook":
            assert version in locked[name], f"{name} {version}, not the locked {locked[name]}: make notebooks"
    assert provenance["OMP_NUM_THREADS"] == "1", "make notebooks runs them with one thread, as nbval does"


GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([A-Za-z_][A-Za-z0-9_]*)(?::[^`]*)?`")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_glued_number_is_used_and_every_used_one_is_glued(path):
    cells = json.loads(path.read_text())["cells"]
    used = {key for c in cells for key in GLUE_ROLE.findall(markdown_source(c))}
    glued = [o["metadata"]["scrapbook"]["name"] for c in cells for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})]
    assert len(glued) == len(set(glued)), "a key is glued twice"
    assert used <= set(glued), f"used in the text but never glued: {used - set(glued)}"
    assert set(glued) <= used, f"glued but never used in the text: {set(glued) - used}"
