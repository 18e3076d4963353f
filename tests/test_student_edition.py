"""The student edition's stripping (scripts/student_edition.py), on every chapter and on a toy.

`make check-html-student` checks the built pages; these tests need no build.
"""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

spec = importlib.util.spec_from_file_location("student_edition", ROOT / "scripts" / "student_edition.py")
student_edition = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student_edition)


def markdown(text, **extra):
    return {"cell_type": "markdown", "metadata": {}, "source": text, **extra}


def code(text, tags=(), outputs=()):
    return {"cell_type": "code", "execution_count": 1, "metadata": {"tags": list(tags)},
            "outputs": list(outputs), "source": text}


def glued(name):
    mime = "application/papermill.record/"
    return {"output_type": "display_data", "data": {f"{mime}text/plain": "'1.5%'"},
            "metadata": {"scrapbook": {"name": name, "mime_prefix": mime}}}


DISCUSSION = "```{admonition} Discussion\n:class: dropdown\nIt is {glue:text}`ex1_gap`.\n```\n"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_keeps_its_exercises_and_loses_its_solutions(path):
    notebook = json.loads(path.read_text())
    student = student_edition.student_notebook(notebook)
    assert student_edition.exercises(student) == student_edition.exercises(notebook) != []
    assert not [c for c in student["cells"] if student_edition.is_solution(c)]
    assert not [c for c in student["cells"] if "{admonition} Discussion" in student_edition.source(c)]
    cited, defined = ({key for cell in student["cells"] if cell["cell_type"] == kind
                       for key in student_edition.glue_keys(cell)} for kind in ("markdown", "code"))
    assert cited <= defined, "the prose cites a glued value whose cell was taken out"


def test_a_solution_goes_with_its_discussion_and_its_glued_values():
    notebook = {"cells": [markdown("**1. Gap.** How large?"), code("gap = 1\nglue('ex1_gap')", ["solution"],
                                                                 [glued("ex1_gap")]),
                          markdown(DISCUSSION)]}
    assert student_edition.student_notebook(notebook)["cells"] == [markdown("**1. Gap.** How large?")]


def test_a_glued_value_the_remaining_prose_cites_stays_without_its_code():
    cells = [markdown("The gap is {glue:text}`ex1_gap:.1f`, see exercise 1."),
             markdown("**1. Gap.** How large?\n\n" + DISCUSSION + "\nAnd a note after it."),
             code("gap = secret()\nglue('ex1_gap')\nprint(gap)", ["solution", "hide-cell"],
                  [glued("ex1_gap"), {"output_type": "stream", "name": "stdout", "text": "1.5\n"}])]
    student = student_edition.student_notebook({"cells": cells})["cells"]
    assert student[:2] == [cells[0], markdown("**1. Gap.** How large?\n\n\nAnd a note after it.")]
    assert student[2]["source"] == "" and student[2]["metadata"] == {"tags": ["remove-cell"]}
    assert student[2]["outputs"] == [glued("ex1_gap")]


def test_an_admonition_that_is_not_a_discussion_dropdown_stays():
    kept = ["```{admonition} Discussion\nshown, not a dropdown\n```\n",
            "```{admonition} Note\n:class: dropdown\nnot a discussion\n```\n",
            "````{admonition} Discussion\n:class: tip\n```python\nx = 1\n```\n````\n"]
    for text in kept:
        assert student_edition.without_discussions(text) == text
    fenced = "Before.\n````{admonition} Discussion\n:class: dropdown\n```python\nx = 1\n```\n````\nAfter.\n"
    assert student_edition.without_discussions(fenced) == "Before.\nAfter.\n"
