# EM Lab: every target does its own set-up in a local virtual environment (.venv).
# Needs only Python 3.10+ (with venv) and make.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet
EXTRAS ?= lab,test,book,scale
comma  := ,
STAMP  := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
# JupyterLab refuses to run as root unless told it is fine (containers, CI).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]-*.ipynb))
NOTES     := $(sort $(wildcard notebooks/notes/[0-9][0-9]-*.ipynb))

.PHONY: help setup lab test lint format execute wheel clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[$(EXTRAS)]"
	@touch $@

setup: $(STAMP)  ## create .venv and install emlab with the lab, test and book tools

lab: $(STAMP)  ## set up, then open the course in JupyterLab
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/

# Two workers (the machines we test on have two cores); --dist loadfile keeps each file, and so
# each notebook's cells (one kernel), on one worker.
TEST_WORKERS ?= 2
test: $(STAMP) system-tools  ## set up, then run every test: unit tests, lint, nbval on every notebook, book, browser, grading
	$(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	    -n $(TEST_WORKERS) --dist loadfile --durations=25

lint: $(STAMP)  ## ruff lint and format check over emlab/, tests/, the notebooks, benchmarks/ and tools/
	$(BIN)/ruff check emlab tests notebooks benchmarks tools
	$(BIN)/ruff format --check emlab tests notebooks benchmarks tools

format: $(STAMP)  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format emlab tests notebooks benchmarks tools
	$(BIN)/ruff check --fix emlab tests notebooks benchmarks tools

execute: $(STAMP)  ## for authors: re-execute every lesson in place, top to bottom, in a fresh kernel
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.timeout=120 \
	    --ExecutePreprocessor.record_timing=False $(or $(NB),$(NOTEBOOKS) $(NOTES))
	$(BIN)/python tools/tidy_outputs.py $(or $(NB),$(NOTEBOOKS) $(NOTES))
	$(BIN)/python ../shared/tools/nbcheck.py $(or $(NB),$(NOTEBOOKS) $(NOTES)) || true

wheel: $(STAMP)  ## for instructors: dist/emlab_course-*.whl, the package emlab alone, to hand to students
	$(BIN)/python -m pip wheel --no-deps --quiet -w dist .

clean:  ## remove the virtual environment and build products
	rm -rf $(VENV) _build build dist student autograder scores.csv feedback written .pytest_cache .ruff_cache

# The browser tests drive Debian's chromium through Playwright (Playwright's own browser download
# needs the internet); grading runs each submission in a bubblewrap sandbox. As root both are
# installed here; otherwise the command to run is printed (without bwrap the sandboxed grading
# tests are skipped, and say so).
system-tools:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "The tests need Debian's $$missing: sudo apt-get install $$missing"; fi; fi

.PHONY: book system-tools
book: $(STAMP)  ## set up, then build the static book into _build/html (EMLAB_BOOK_EDITION=student: no solutions)
	@if [ "$(EMLAB_BOOK_EDITION)" = student ]; then $(MAKE) --no-print-directory student/.built; fi
	$(BIN)/jupyter-book build . --config book.yml --toc book/_toc.yml -W -n --keep-going --all
	@echo "The book is in _build/html/index.html"

.PHONY: student grade
student: $(STAMP) wheel  ## write the student editions to student/ and the graders to autograder/
	$(BIN)/python -m emlab.instructor student --out student --autograder autograder \
	    --wheel "$$(ls -t dist/emlab_course-*.whl | head -n 1)" $(NB)
	@if [ -z "$(NB)" ]; then touch student/.built; fi

# the student book rebuilds the student editions only when a lesson or emlab/ changed since the
# last full `make student`
student/.built: $(NOTEBOOKS) $(wildcard emlab/*.py emlab/*/*.py) | $(STAMP)
	$(BIN)/python -m pip wheel --no-deps --quiet -w dist .
	$(BIN)/python -m emlab.instructor student --out student --autograder autograder \
	    --wheel "$$(ls -t dist/emlab_course-*.whl | head -n 1)"
	@touch $@

# GRADE_OPTIONS: --fresh, --time-limit S, --cell-time-limit S, --memory-limit GIB, --jobs N,
# --no-sandbox (see python -m emlab.instructor grade --help)
grade: $(STAMP)  ## grade a folder in sandboxes: make grade SUBMISSIONS=folder (merges into scores.csv, feedback/, written/)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder [GRADE_OPTIONS=--fresh]"; exit 2; }
	$(BIN)/python -m emlab.instructor grade "$(SUBMISSIONS)" --autograder autograder \
	    --out scores.csv --feedback feedback --written written $(GRADE_OPTIONS)

.PHONY: bench
bench: $(STAMP)  ## benchmarks: emlab's engines against scikit-learn and the articles' loops
	$(BIN)/python benchmarks/run.py --markdown

.PHONY: bench-scale
bench-scale: $(STAMP)  ## benchmarks: EM on Dask against the in-memory engine, 1 and 2 workers, out of core from Zarr
	$(BIN)/python benchmarks/scale.py --n 10000000 --block 1000000 --iterations 3 13 --zarr-n 10000000 --zarr-block 2000000
