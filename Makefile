# relucourse: `make book` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: env book test lab grade clean

env: $(STAMP)

# The environment: pinned requirements, then the course's package in editable mode.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

book: env
	$(PY) tools/build_book.py

test: env
	$(PY) -m pytest

lab: env
	$(VENV)/bin/jupyter lab --notebook-dir=.

clean:
	rm -rf _build release
