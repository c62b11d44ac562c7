# Tierwatch — two commands: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
DEMO   ?= 1
ARGS   ?=

.PHONY: run test test-future faketime lint browser format bench-ingest clean help

help:
	@echo "make run   [PORT=8000] [DEMO=1]  run Tierwatch on http://127.0.0.1:PORT/"
	@echo "make test  [ARGS='-k name']      lint, type-check and run the whole test suite"
	@echo "make test-future [DAYS=365]      the suite with the clock DAYS ahead (Debian's faketime)"
	@echo "make bench-ingest               ingest throughput benchmark (docs/performance.md)"
	@echo "make screenshots                refresh docs/screenshots/ from the browser tests"

$(VENV)/.runtime: requirements.txt requirements-local.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): install Python's venv module (Debian: apt-get install python3-venv)."; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-local.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: $(VENV)/.runtime
	exec $(PY) -m monitor.devservers run --port $(PORT) --demo $(DEMO)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The browser tests (tests/browser/) drive Debian's chromium, or CHROMIUM=/path: installed here when missing.
browser:
	@sh tests/browser/ensure-chromium

test: lint browser
	$(PY) -m monitor.devservers test $(ARGS)

# The suite with every process's clock (PostgreSQL, Valkey, workers, chromium) DAYS ahead:
# no test may depend on the day it runs. libfaketime moves the monotonic clock too but
# does not wrap the timed waits CPython uses, so a small preload (tests/future) does.
# gunicorn's worker heartbeat ignores the faked clock (it stores the faked monotonic time
# as a file's mtime, which the kernel keeps unfaked), so it would take every worker for
# hung: WEB_TIMEOUT=0 turns that watchdog off for this run only.
DAYS ?= 365
faketime:
	@command -v faketime >/dev/null && command -v cc >/dev/null || { [ "$$(id -u)" = 0 ] && \
	  { apt-get install -y -qq faketime gcc || { apt-get update -qq && apt-get install -y -qq faketime gcc; }; }; } || \
	  { echo "make test-future needs faketime and a C compiler (Debian: apt-get install faketime gcc)."; exit 1; }

$(VENV)/realwait.so: tests/future/realwait.c
	cc -shared -fPIC -O2 -o $@ $< -ldl

test-future: lint browser faketime $(VENV)/realwait.so
	WEB_TIMEOUT=0 LD_PRELOAD=$(CURDIR)/$(VENV)/realwait.so faketime -f +$(DAYS)d $(PY) -m monitor.devservers test $(ARGS)

screenshots: $(VENV)/.dev browser
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PY) -m monitor.devservers test tests/browser/test_dashboards.py -k "draws_its_charts or phone"

bench-ingest: $(VENV)/.dev
	bench/ingest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
