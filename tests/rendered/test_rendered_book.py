"""Checks of the rendered HTML book (run by `make test` after the build; `make book` first).

`make check-html-student` runs them on the student edition (`LOSSBOOK_EDITION=student`,
built by `make book-student` from its stripped copy of the sources), with the checks at the
end of this file: every exercise is there, no solution is.
"""

import json
import os
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
EDITION = os.environ.get("LOSSBOOK_EDITION", "full")
HTML, SOURCES = {
    "full": (ROOT / "_build" / "html", ROOT),
    "student": (ROOT / "_build" / "student" / "html", ROOT / "_build" / "student-src"),
}[EDITION]
BUILD = {"full": "make book", "student": "make book-student"}[EDITION]


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages, stack = [toc["root"]], list(toc.get("chapters", [])) + list(toc.get("parts", []))
    while stack:
        entry = stack.pop(0)
        pages += [entry["file"]] if "file" in entry else []
        stack += entry.get("chapters", []) + entry.get("sections", [])
    return pages


PAGES = toc_pages()
NOTEBOOK_PAGES = [p for p in PAGES if (ROOT / f"{p}.ipynb").exists()]


@pytest.fixture(scope="module")
def soups():
    if not (HTML / "index.html").exists():
        pytest.fail(f"no rendered book: run `{BUILD}` first")
    return {page: BeautifulSoup((HTML / f"{page}.html").read_text(), "html.parser")
            for page in PAGES if (HTML / f"{page}.html").exists()}


@pytest.mark.parametrize("page", PAGES)
def test_every_toc_page_is_rendered(page):
    assert (HTML / f"{page}.html").exists(), f"{page} is in _toc.yml but was not rendered"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_chapter_has_a_figure(soups, page):
    images = soups[page].select(".cell_output img")
    assert images, f"{page} shows no figure"


@pytest.mark.parametrize("page", PAGES)
def test_no_traceback_or_error_output(soups, page):
    # Chapters show an expected error by catching it and printing its message, never as a traceback.
    soup = soups[page]
    for cell in soup.select("div.cell"):
        text = cell.get_text()
        assert "Traceback (most recent call last)" not in text, f"{page}: a cell shows a traceback"
        assert not cell.select(".output.error, .output.traceback"), f"{page}: a cell shows an error"


@cache
def anchors(path: Path) -> frozenset[str]:
    return frozenset(tag["id"] for tag in BeautifulSoup(path.read_text(), "html.parser").find_all(id=True))


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(soups, page):
    here = (HTML / f"{page}.html").parent
    for link in soups[page].find_all("a", href=True):
        url = urlparse(link["href"])
        if url.scheme or url.netloc or not (url.path or url.fragment):
            continue
        target = (here / unquote(url.path)).resolve() if url.path else HTML / f"{page}.html"
        assert target.exists(), f"{page}: broken link {link['href']}"
        if url.fragment and target.suffix == ".html":
            assert url.fragment in anchors(target), f"{page}: link {link['href']} points at a missing anchor"


@pytest.mark.parametrize("page", PAGES)
def test_math_is_rendered_by_the_local_mathjax(soups, page):
    # MathJax comes from npm's mathjax, copied into _static (see _config.yml), so formulas
    # render offline too; `make check-browser` checks that it really typesets them.
    source = next(SOURCES.glob(f"{page}.*")).read_text()
    if not re.search(r"\$[^$\s][^$]*\$", source):
        pytest.skip(f"{page} has no math")
    soup = soups[page]
    assert soup.select(".math"), f"{page}: math in the source but none in the page"
    mathjax_path = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]["mathjax_path"]
    here = (HTML / f"{page}.html").parent
    scripts = {(here / unquote(urlparse(s["src"]).path)).resolve() for s in soup.find_all("script", src=True)}
    assert HTML / "_static" / mathjax_path in scripts, f"{page}: no <script> for _static/{mathjax_path}"
    assert (HTML / "_static" / mathjax_path).is_file(), f"_static/{mathjax_path} was not copied"


@pytest.mark.parametrize("page", PAGES)
def test_pages_load_nothing_from_other_hosts(soups, page):
    # Scripts, styles and images all come with the book (no CDN), so it works offline.
    html = (HTML / f"{page}.html").read_text()
    assert not re.search(r"//[^\s\"'<>/]*(cdn|unpkg)", html), f"{page}: a CDN URL in the page"
    for tag, attribute in [("script", "src"), ("link", "href"), ("img", "src")]:
        for element in soups[page].find_all(tag, **{attribute: True}):
            url = urlparse(element[attribute])
            assert not (url.scheme or url.netloc), f"{page}: <{tag}> loads {element[attribute]}"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_chapter_pages_have_colab_download_and_repository_buttons(soups, page):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"]
    branch = config["repository"]["branch"]
    hrefs = {link["href"] for link in soups[page].find_all("a", href=True)}
    colab = repo.replace("https://github.com/", "https://colab.research.google.com/github/")
    if EDITION == "student":  # Colab would open the repository's notebook, solutions included
        assert not any(h.startswith(colab) for h in hrefs), f"{page}: a Colab button in the student edition"
    else:
        assert f"{colab}/blob/{branch}/{page}.ipynb" in hrefs, f"{page}: no Colab button"
    assert any(h.endswith(f"_sources/{page}.ipynb") for h in hrefs), f"{page}: no .ipynb download"
    assert repo in hrefs, f"{page}: no repository button"


def stored_cells(page):
    cells = json.loads((ROOT / f"{page}.ipynb").read_text())["cells"]
    return [(cell, "".join(cell["source"])) for cell in cells]


def solution_lines(page):
    """Lines of the chapter's solutions that appear nowhere else in it (at least 20 characters)."""
    cells = stored_cells(page)
    solution = {"solution" in cell["metadata"].get("tags", []) for cell, _ in cells}
    assert solution == {True, False}, f"{page} has no solution cells to check"
    elsewhere = "\n".join(text for cell, text in cells if "solution" not in cell["metadata"].get("tags", []))
    return {line.strip() for cell, text in cells if "solution" in cell["metadata"].get("tags", [])
            for line in text.splitlines() if len(line.strip()) >= 20 and line.strip() not in elsewhere}


student_only = pytest.mark.skipif(EDITION != "student", reason="checks of the student edition")


@student_only
@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_student_edition_has_every_exercise(soups, page):
    titles = [re.match(r"\*\*(\d+\. [^*]+)\*\*", text) for cell, text in stored_cells(page)
              if cell["cell_type"] == "markdown"]
    titles = [m[1] for m in titles if m]
    assert titles, f"{page} has no exercises"
    # The page typesets quotes (') as typographic ones (’).
    shown = {tag.get_text(" ", strip=True).replace("\u2019", "'") for tag in soups[page].find_all("strong")}
    assert [t for t in titles if t not in shown] == [], f"{page}: exercises missing from the student edition"


@student_only
@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_student_edition_shows_no_solution_or_discussion(soups, page):
    soup = soups[page]
    assert not soup.select(".tag_solution"), f"{page}: a solution cell in the student edition"
    assert "Show the solution" not in soup.get_text(), f"{page}: a solution toggle in the student edition"
    titles = {title.get_text(strip=True) for title in soup.select(".admonition .admonition-title")}
    assert "Discussion" not in titles, f"{page}: a discussion in the student edition"
    text = soup.get_text()
    leaked = [line for line in solution_lines(page) if line in text]
    assert leaked == [], f"{page}: solution code in the student edition"


@student_only
@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_student_edition_notebook_download_has_no_solution(page):
    notebook = (HTML / "_sources" / f"{page}.ipynb").read_text()
    assert '"solution"' not in notebook, f"{page}: the downloadable notebook has a solution cell"
    sources = "\n".join("".join(cell["source"]) for cell in json.loads(notebook)["cells"])
    leaked = [line for line in solution_lines(page) if line in sources]
    assert leaked == [], f"{page}: the downloadable notebook has solution code"
