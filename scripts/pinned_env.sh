#!/usr/bin/env bash
# `make test-colab` and `make test-oldest`: a venv, .venv-NAME, with exactly the versions
# pinned in envs/NAME.txt; lossbook installed as a chapter's first cell installs it on
# Colab (not editable, keeping the pinned PyTorch, torchmetrics the newest); then the unit
# tests, the doctests of the installed package and every chapter under nbval's lax mode
# (the chapters' asserts must hold; the printed digits may differ).
#
#   scripts/pinned_env.sh install NAME     (re)create .venv-NAME when envs/NAME.txt changed
#   scripts/pinned_env.sh test NAME ARGS   run the tests there (ARGS go to pytest)
#
# PYTHON names the interpreter (default python3). The torch wheels are PyPI's, CUDA builds
# of several GB: that is why neither target is part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
step=$1 name=$2
shift 2
pins=envs/$name.txt venv=.venv-$name
py=$venv/bin/python
python=${PYTHON:-python3}
fail() { echo "make test-$name: FAILED: $*" >&2; exit 1; }

[ -f "$pins" ] || fail "no $pins"
pinned() { sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' "$pins"; }

install() {
    local want have
    want=$(sed -n 's/^# python: *//p' "$pins")
    have=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
        || fail "no Python at '$python' (set PYTHON=python$want)"
    if [ "$have" != "$want" ]; then
        echo "make test-$name: $pins is for Python $want; running it on Python $have ($python)"
    fi
    # torch alone is GBs: keep the venv while the pins (not the comments) and the Python stay.
    if ! pinned | cmp -s - "$venv/.pins" || [ "$(cat "$venv/.python" 2>/dev/null)" != "$have" ]; then
        rm -rf "$venv"
        "$python" -m venv "$venv"
        "$py" -m pip install --quiet --quiet --upgrade pip
        local started=$SECONDS
        # Wheels only: a release with no wheel for this Python would otherwise compile for
        # an hour, or fail deep in a compiler's output.
        "$py" -m pip install --quiet --only-binary=:all: -r "$pins" \
            || fail "cannot install $pins on Python $have ($(uname -m)): a pinned release has no wheel for it, or the package index cannot be reached (pip's message above)"
        echo "make test-$name: installed $pins in $((SECONDS - started)) s; the venv takes $(du -sh "$venv" | cut -f1)"
        pinned >"$venv/.pins"
        echo "$have" >"$venv/.python"
    fi
    # What a chapter's first cell runs on Colab: `pip install git+<repository>` (and
    # `torchmetrics` in the chapters that use it), here from this working tree. Nothing
    # constrains it, as on Colab; the check below fails if it replaced a pinned release.
    # setuptools builds in build/: a module removed from src/ would linger there and be installed.
    "$py" -m pip uninstall --quiet --quiet --yes lossbook 2>/dev/null || true
    rm -rf build
    "$py" -m pip install --quiet --quiet . torchmetrics \
        || fail "cannot install lossbook and torchmetrics next to $pins (pip's message above)"
    # The test tools, never at the cost of a pinned release.
    "$py" -m pip install --quiet --quiet -c "$pins" pytest pytest-xdist nbval ipykernel hypothesis pyyaml statsmodels \
        || fail "cannot install the test tools next to $pins (pip's message above)"
    "$py" - "$pins" <<'PY' || fail "a pinned release was replaced (above): pin what replaced it, or fix the floor"
import platform
import re
import sys
from importlib.metadata import PackageNotFoundError, version

pins = [re.split(r"==", line.strip(), maxsplit=1) for line in open(sys.argv[1])
        if line.strip() and not line.startswith("#")]
print(f"Python {platform.python_version()}, {platform.machine()}")
ok = True
for name, pinned in pins + [["lossbook", None], ["torchmetrics", None]]:
    try:
        got = version(name)
    except PackageNotFoundError:
        got = "not installed"
    # A local build label (+cu128, +cpu) does not change the release.
    same = pinned is None or got.split("+")[0] == pinned
    ok &= same
    print(f"  {name:18} {got}" + ("" if same else f"   (pinned: {pinned})"))
sys.exit(not ok)
PY
}

run_tests() {
    [ -f "$venv/.pins" ] || fail "no $venv: run scripts/pinned_env.sh install $name"
    # The datasets, downloaded when missing (nothing to do when $LOSSBOOK_DATA has them).
    "$py" -m lossbook.data
    local package
    package=$("$py" -c 'import lossbook, os; print(os.path.dirname(lossbook.__file__))')
    # The doctests of the installed copy, the one the notebooks import, not of src/.
    local status=0
    OMP_NUM_THREADS=1 "$py" -m pytest -p no:cacheprovider -n 2 --dist loadfile --nbval-lax \
        --junitxml "$venv/results.xml" "$@" tests "$package" book --ignore=tests/rendered || status=$?
    # One line a chapter: which ran, which failed.
    "$py" - "$venv/results.xml" <<'PY' || true
import collections
import sys
import xml.etree.ElementTree as ET

counts = collections.defaultdict(collections.Counter)
for case in ET.parse(sys.argv[1]).iter("testcase"):
    name = case.get("classname", "")
    if name.endswith(".ipynb"):
        chapter = name.replace(".", "/", 1)
    elif name.startswith("tests."):
        chapter = "unit tests"
    else:
        chapter = "doctests"
    outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
    counts[chapter][outcome] += 1
for chapter, count in sorted(counts.items()):
    print(f"  {chapter:32} " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(count.items())))
PY
    [ "$status" = 0 ] || fail "tests failed under $pins (above)"
    echo "make test-$name: passed under $pins"
}

case $step in
    install) install ;;
    test) run_tests "$@" ;;
    *) fail "unknown step '$step' (install or test)" ;;
esac
