"""`python -m lossbook check`: every fixture, the exit codes, noqa, select/ignore, json, flake8."""

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lossbook import check
from lossbook.check import RULES, check_paths, check_source
from lossbook.check.flake8 import Plugin

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "check_fixtures"
WRONG = sorted(p for p in FIXTURES.glob("*_wrong.*") if p.suffix in (".py", ".ipynb"))
RIGHT = sorted(p for p in FIXTURES.glob("*_right.*") if p.suffix in (".py", ".ipynb"))


def python_m_lossbook_check(*args, cwd=ROOT):
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "lossbook", "check", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def found(path):
    findings, errors = check_paths([str(path)])
    assert errors == []
    return [f"{f.cell + ':' if f.cell else ''}{f.line}:{f.col} {f.code}" for f in findings]


@pytest.mark.parametrize("path", WRONG, ids=lambda p: p.name)
def test_wrong_fixture_gives_exactly_the_expected_findings(path):
    expected = path.with_suffix(".txt").read_text().split("\n")
    assert found(path) == [line for line in expected if line]


@pytest.mark.parametrize("path", RIGHT, ids=lambda p: p.name)
def test_right_fixture_is_clean(path):
    assert found(path) == []


def test_every_rule_has_a_wrong_and_a_right_fixture():
    expected = [path.read_text().split() for path in FIXTURES.glob("*_wrong.txt")]
    flagged = {word for words in expected for word in words if word.startswith("LB")}
    assert flagged == set(RULES)
    assert {p.name.replace("_wrong", "_right") for p in WRONG} == {p.name for p in RIGHT}
    assert any(p.suffix == ".ipynb" for p in WRONG)


def test_every_message_says_how_to_fix_and_names_its_chapter():
    titles = {}
    for number, name in enumerate(re.findall(r"file: book/(0\d_\w+)", (ROOT / "_toc.yml").read_text()), 1):
        cells = json.loads((ROOT / "book" / f"{name}.ipynb").read_text())["cells"]
        titles[number] = "".join(cells[0]["source"]).splitlines()[0].removeprefix("# ")
    for code, rule in RULES.items():
        assert re.fullmatch(r"LB\d{3}", code) and rule.__doc__
        match = re.search(r' \(chapter (\d), "(.+)"\)$', rule.text())
        assert match and titles[int(match[1])] == match[2], code
        assert re.search(r"\b(use|add|pass|call|divide|wrap|weight|step)\b", rule.message), code


def test_exit_codes_and_output_of_the_command(tmp_path):
    wrong = python_m_lossbook_check("tests/check_fixtures/LB102_wrong.py")
    assert wrong.returncode == 1 and wrong.stderr == ""
    assert wrong.stdout.splitlines()[0].startswith("tests/check_fixtures/LB102_wrong.py:12:5 LB102 a sum of")
    assert wrong.stdout.splitlines()[0].endswith('(chapter 3, "Averaging loss and accuracy honestly")')
    clean = python_m_lossbook_check(*map(str, RIGHT))
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    (tmp_path / "broken.py").write_text("for X, y in loader\n    pass\n")
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    (tmp_path / "latin1.py").write_bytes(b"# \xe9\n")
    for name in ["broken.py", "broken.ipynb", "latin1.py", "missing.py"]:
        result = python_m_lossbook_check(str(tmp_path / name), "tests/check_fixtures/LB101_wrong.py")
        assert result.returncode == 2, name
        assert "LB101" in result.stdout  # the other file is still checked
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith(f"{tmp_path / name}: error: ")
    assert "1:19: SyntaxError" in python_m_lossbook_check(str(tmp_path / "broken.py")).stderr


def test_a_bug_in_a_rule_is_one_line_not_a_traceback(monkeypatch):
    def broken(self, node):
        raise KeyError("boom")

    monkeypatch.setattr(RULES["LB601"], "visit_Call", broken)
    findings, errors = check_paths([str(FIXTURES / "LB601_wrong.py")])
    assert findings == [] and errors == [f"{FIXTURES / 'LB601_wrong.py'}: error: lossbook.check failed here "
                                         "(KeyError: 'boom'); please report it"]


def test_a_syntax_error_in_a_notebook_names_its_cell():
    cells = [{"cell_type": "markdown", "source": "# title"}, {"cell_type": "code", "source": "x = 1"},
             {"cell_type": "code", "source": "y = (\n"}]
    with pytest.raises(check.CheckError, match=r"^cell 3:1:5: SyntaxError"):
        check_source(check._sources.Source.from_notebook(json.dumps({"cells": cells})))


def test_a_broken_cell_is_reported_and_the_other_cells_still_checked(tmp_path):
    cells = [{"cell_type": "code", "source": "model = ## TODO: your model here"},
             {"cell_type": "code", "source": "kl = nn.KLDivLoss()"}]
    (tmp_path / "exercise.ipynb").write_text(json.dumps({"cells": cells}))
    result = python_m_lossbook_check(str(tmp_path / "exercise.ipynb"))
    assert result.returncode == 2 and "cell 1:1:9: SyntaxError" in result.stderr
    assert "the other cells were checked" in result.stderr
    assert result.stdout.startswith(f"{tmp_path / 'exercise.ipynb'}:cell 2:1:6 LB601")


def test_magics_become_pass_and_a_percent_format_continuation_stays():
    cell = ("%matplotlib inline\n!pip install x\nfiles = !ls\nx?\nprint('%d of %d'\n      %(1, 2))\n"
            "y != 2  # why?")
    notebook = {"cells": [{"cell_type": "code", "source": cell}]}
    source = check._sources.Source.from_notebook(json.dumps(notebook))
    assert source.text.splitlines() == ["pass", "pass", "pass", "pass", "print('%d of %d'", "      %(1, 2))",
                                        "y != 2  # why?"]
    assert check_source(source) == []


def test_an_nbformat_3_notebook_and_empty_files(tmp_path):
    worksheet = {"cells": [{"cell_type": "code", "input": ["kl = nn.KLDivLoss()"]}]}
    (tmp_path / "v3.ipynb").write_text(json.dumps({"worksheets": [worksheet], "nbformat": 3}))
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "empty.ipynb").write_text(json.dumps({"cells": []}))
    findings, errors = check_paths([str(tmp_path)])
    assert errors == [] and [(Path(f.path).name, f.cell, f.code) for f in findings] == [
        ("v3.ipynb", "cell 1", "LB601")]


def test_noqa_silences_its_line_only():
    code = ("for X, y in loader:\n    s += loss_fn(model(X), y)\n"
            "for X, y in loader:\n    t += loss_fn(model(X), y)  # noqa: LB104\n"
            "for X, y in loader:\n    u += loss_fn(model(X), y)  # noqa\n"
            "for X, y in loader:\n    v += loss_fn(model(X), y)  # noqa: LB101, E501\n")
    code = "s = t = u = v = 0\n" + code
    assert [f.line for f in check_source(code)] == [3, 9]


def test_select_and_ignore(capsys):
    path = str(FIXTURES / "LB201_wrong.py")
    assert check.main([path, "--select", "LB203,LB205"]) == 1
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["LB203", "LB205"]
    assert check.main([path, "--select", "LB2", "--ignore", "LB20"]) == 0
    assert check.main([path, "--ignore", "LB201,LB202,LB203,lb204,LB205,LB206"]) == 0
    assert capsys.readouterr().out == ""
    assert check.main(["--list-rules"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == sorted(RULES)


def test_json_format(capsys):
    assert check.main(["--format", "json", str(FIXTURES / "notebook_wrong.ipynb")]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [(r["cell"], r["line"], r["column"], r["code"]) for r in rows] == [
        ("cell 5", 8, 5, "LB101"), ("cell 6", 3, 1, "LB301"), ("cell 6", 4, 5, "LB104")]
    assert rows[0]["path"].endswith("notebook_wrong.ipynb") and rows[0]["message"].startswith("the mean")
    assert check.main(["--format", "json", str(FIXTURES / "LB101_right.py")]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_directory_is_searched_for_python_files_and_notebooks(tmp_path):
    (tmp_path / "pkg" / ".ipynb_checkpoints").mkdir(parents=True)
    for name in ["pkg/a.py", "pkg/.ipynb_checkpoints/a-checkpoint.ipynb", "b.ipynb", "c.txt"]:
        source = FIXTURES / ("notebook_wrong.ipynb" if name.endswith("ipynb") else "LB102_wrong.py")
        (tmp_path / name).write_text(source.read_text())
    findings, errors = check_paths([str(tmp_path)])
    assert errors == [] and sorted({Path(f.path).name for f in findings}) == ["a.py", "b.ipynb"]


def test_flake8_plugin_runs_as_flake8_runs_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entry = project["entry-points"]["flake8.extension"]
    module, _, attr = entry["LB"].partition(":")
    plugin_class = getattr(__import__(module, fromlist=[attr]), attr)
    assert plugin_class is Plugin and Plugin.name and Plugin.version
    path = FIXTURES / "LB102_wrong.py"
    results = list(plugin_class(tree=ast.parse(path.read_text()), filename=str(path)).run())
    positions = [(line, col, text.split()[0]) for line, col, text, _ in results]
    assert positions == [(12, 4, "LB102"), (23, 11, "LB102")]
    assert all(kind is Plugin for *_, kind in results)
    assert results[0][2].startswith("LB102 a sum of batch means")
