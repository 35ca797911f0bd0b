# daozhang — the two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)

# `make run`, `make demo`, `make test` and `make bench` run in development mode: the embedded
# secrets, the demo and the sandboxes. Anything else (a service started by systemd, a bare
# `daozhang …`) is in production mode unless DAOZHANG_MODE=development is set, and refuses
# to start on those (docs/operations.md#production).
run demo test test-sqlite test-postgres bench: export DAOZHANG_MODE := development

.PHONY: run test test-checks test-sqlite test-postgres install lint typecheck bench demo clean system-deps

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/daozhang: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@touch $@

install: $(BIN)/daozhang

# Debian packages: PostgreSQL 15 server binaries (the tests' throw-away server), a CJK
# font for PDF statements, poppler to look at PDFs in tests, Chromium for the browser
# tests (Playwright drives Debian's build; no browser is downloaded). Installed only when missing.
APT_NEEDED = $(shell [ -x /usr/lib/postgresql/15/bin/initdb ] || echo postgresql-15) \
	$(shell fc-list 2>/dev/null | grep -qi 'wqy\|noto.*cjk' || echo fonts-wqy-microhei) \
	$(shell command -v pdftoppm >/dev/null || echo poppler-utils) \
	$(shell [ -x /usr/bin/chromium ] || echo chromium)
# The bench's HTTP load generator (bench/api_load.py), for `make bench` only.
bench: APT_NEEDED += $(shell command -v wrk >/dev/null || echo wrk)
system-deps:
	@if [ -n "$(strip $(APT_NEEDED))" ]; then \
		echo "installing $(strip $(APT_NEEDED))"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_NEEDED) >/dev/null; \
	fi

run: install system-deps
	mkdir -p var
	$(BIN)/daozhang migrate --no-input
	$(BIN)/daozhang demo
	$(BIN)/daozhang serve --host 127.0.0.1 --port 8000 --with-worker

demo: install
	$(BIN)/daozhang migrate --no-input
	$(BIN)/daozhang demo

# `make test`: the checks (ruff, mypy, import-linter), the suite on SQLite and the suite on a
# throw-away PostgreSQL server, the three side by side. They share nothing: each pass has
# its own database (a temporary SQLite file with its lock file beside it, or its own
# server), live servers and `daozhang serve` on free ports, its own temporary directories.
# Each one's whole output is printed as a block when it ends and kept in
# build/test/<name>.log (watch with `tail -f build/test/*.log`); make fails if any of them
# fails, after all three have finished. The three also run alone: `make test-sqlite`, …
TEST_OUT := build/test
PYTEST := $(BIN)/python -m pytest -p daozhang.testing.pytest_pg

test: install system-deps
	@rm -rf $(TEST_OUT) && mkdir -p $(TEST_OUT)
	@echo "== checks, SQLite pass and PostgreSQL pass side by side (progress: tail -f $(TEST_OUT)/*.log) =="
	@$(MAKE) --no-print-directory -k -j3 --output-sync=target test-checks test-sqlite test-postgres; rc=$$?; \
	echo "== summary =="; \
	for p in checks sqlite postgres; do tail -n 2 $(TEST_OUT)/$$p.log | sed "s/^/$$p: /"; done; \
	exit $$rc

# $(call labelled,name,title,commands): the commands' output, between a title line and a
# result line with the wall time and CPU time (a PostgreSQL server's own not counted), on
# the terminal and in $(TEST_OUT)/name.log.
define labelled
	@mkdir -p $(TEST_OUT); set -o pipefail; start=$$SECONDS; \
	{ echo "== $(2) =="; rc=0; $(3); \
	  times > $(TEST_OUT)/$(1).times; \
	  echo "== $(2): $$([ $$rc = 0 ] && echo passed || echo FAILED) in $$((SECONDS - start))s" \
	       "(CPU user/system of its processes: $$(tail -n 1 $(TEST_OUT)/$(1).times)) =="; exit $$rc; } \
	2>&1 | tee $(TEST_OUT)/$(1).log
endef

test-checks: install
	$(call labelled,checks,ruff / mypy / lint-imports,\
	  $(BIN)/ruff check src tests bench || rc=1; $(BIN)/mypy src || rc=1; $(BIN)/lint-imports || rc=1)

test-sqlite: install system-deps
	$(call labelled,sqlite,test suite on SQLite,\
	  $(PYTEST) --junitxml=$(TEST_OUT)/sqlite.xml || rc=1)

# Tests marked one_database (pyproject.toml: the browser tests, schemathesis) run in the
# SQLite pass only: what they check does not depend on the database.
test-postgres: install system-deps
	$(call labelled,postgres,test suite on PostgreSQL (throw-away server),\
	  DAOZHANG_TEST_DB=postgres $(PYTEST) -m "not one_database" --junitxml=$(TEST_OUT)/postgres.xml || rc=1)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy src

bench: install system-deps
	$(BIN)/python -m bench
	$(BIN)/python -m bench.settlement
	$(BIN)/python -m bench.portal

clean:
	rm -rf $(VENV) $(TOOLS) build var/*.sqlite3*
