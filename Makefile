# relucourse: `make book` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# the venv's bin/ first on PATH: nbgrader runs `alembic` by name when it creates the gradebook
RUN    := PATH="$(abspath $(VENV))/bin:$$PATH"
ASSIGNMENT ?= dying_relu

.PHONY: env chromium book test lab grade bench clean
CHROMIUM := /usr/bin/chromium

env: $(STAMP)

# The environment: pinned requirements, then the course's package in editable mode.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

book: env
	$(RUN) $(PY) tools/build_book.py

# Headless Chromium for tests/test_browser.py: Debian's chromium and chromium-driver (never `playwright install`).
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else \
	    echo "make test needs Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver" >&2; exit 1; \
	  fi; }

test: env chromium
	$(RUN) $(PY) -m pytest

lab: env
	$(RUN) jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root)

# Grade every submission in submitted/*/$(ASSIGNMENT)/ -> gradebook.db, autograded/, feedback/, grades.csv.
# generate_assignment --force records the assignment's tests in the gradebook, which autograde needs
# (it rewrites release/$(ASSIGNMENT) from the same source).
grade: env
	@ls -d submitted/*/$(ASSIGNMENT) >/dev/null 2>&1 || { echo "no submissions in submitted/*/$(ASSIGNMENT)/" >&2; exit 1; }
	$(RUN) nbgrader generate_assignment $(ASSIGNMENT) --force
	$(RUN) nbgrader autograde $(ASSIGNMENT) --force
	$(RUN) nbgrader generate_feedback $(ASSIGNMENT) --force
	$(RUN) nbgrader export --to grades.csv

# Benchmarks: trajectories·steps/s of a one-run loop and of the batched sweep engine, and their ratio.
bench: env
	$(RUN) $(PY) -m relucourse.bench

clean:
	rm -rf _build release
