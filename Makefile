# relucourse: `make book` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# the venv's bin/ first on PATH: nbgrader runs `alembic` by name when it creates the gradebook
RUN    := PATH="$(abspath $(VENV))/bin:$$PATH"
ASSIGNMENT ?= dying_relu

.PHONY: env chromium sandbox postgres proxy hub book test lab grade report bench clean
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

# The grading sandbox (grading/sandbox.py): Debian's bubblewrap.
sandbox:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
	  else \
	    echo "grading needs bubblewrap (bwrap): sudo apt-get install bubblewrap" >&2; exit 1; \
	  fi; }

# PostgreSQL for tests/test_hub.py (the gradebook several graders share): Debian's postgresql, which the test starts.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  else \
	    echo "make test needs PostgreSQL: sudo apt-get install postgresql" >&2; exit 1; \
	  fi; }

# One pytest worker per core (TEST_JOBS=1 for one process); the tests of the built book share one worker.
TEST_JOBS ?= auto
test: env chromium sandbox postgres proxy
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(RUN) $(PY) -m pytest -n $(TEST_JOBS) --dist loadgroup

# The class on a JupyterHub (classroom/): as root, accounts for ROSTER and INSTRUCTORS, the private nbgrader
# exchange in EXCHANGE, every account's nbgrader configuration, the formgrader service; then the hub, in the foreground.
HUB_IP ?= 127.0.0.1
HUB_PORT ?= 8000
INSTRUCTORS ?= instructor
EXCHANGE ?= /srv/nbgrader/exchange
ROSTER ?= $(wildcard roster.csv)
PROXY := classroom/node_modules/.bin/configurable-http-proxy

# configurable-http-proxy from npm, at the version classroom/package-lock.json pins, into the repository.
proxy: $(PROXY)
$(PROXY): classroom/package.json classroom/package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	  else \
	    echo "make hub needs Node.js and npm: sudo apt-get install nodejs npm" >&2; exit 1; \
	  fi; }
	cd classroom && npm ci --no-audit --no-fund --loglevel=error
	touch $@

hub: env sandbox proxy
	$(RUN) $(PY) -m classroom hub --ip $(HUB_IP) --port $(HUB_PORT) --instructors "$(INSTRUCTORS)" \
	  --exchange $(EXCHANGE) $(if $(ROSTER),--roster $(ROSTER)) $(if $(DB_URL),--db-url $(DB_URL))

lab: env
	$(RUN) jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root)

# Grade every submission in submitted/*/$(ASSIGNMENT)/: pre-check, parallel sandboxed autograde, feedback/,
# grades.csv, .grading/$(ASSIGNMENT)/report.csv (grading/driver.py). Stopped? The same command grades the rest.
grade: env sandbox
	@ls -d submitted/*/$(ASSIGNMENT) >/dev/null 2>&1 || { echo "no submissions in submitted/*/$(ASSIGNMENT)/" >&2; exit 1; }
	$(RUN) $(PY) -m grading grade $(ASSIGNMENT) $(if $(JOBS),--jobs $(JOBS))

# What the class misunderstood, from what make grade left: .grading/$(ASSIGNMENT)/class.html and misconceptions.csv
# (grading/report.py); without ASSIGNMENT=, every graded assignment and .grading/class.html, the class across them.
report: env
	$(RUN) $(PY) -m grading report $(if $(filter-out file,$(origin ASSIGNMENT)),$(ASSIGNMENT))

# Benchmarks: the batched sweep engine against a one-run loop; make grade against serial nbgrader; a class's size;
# the seconds from Submit to Fetch Feedback with feedback on submit (classroom/feedbackbench.py, no hub).
bench: env sandbox
	$(RUN) $(PY) -m relucourse.bench
	$(RUN) $(PY) -m grading bench
	$(RUN) $(PY) -m classroom.sizing
	$(RUN) $(PY) -m classroom.feedbackbench

clean:
	rm -rf _build release
