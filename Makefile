# daozhang — the two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test install lint typecheck bench demo clean system-deps

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

test: install system-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports
	@echo "== test suite on SQLite =="
	$(BIN)/python -m pytest -p daozhang.testing.pytest_pg
	@echo "== test suite on PostgreSQL (throw-away server) =="
	DAOZHANG_TEST_DB=postgres $(BIN)/python -m pytest -p daozhang.testing.pytest_pg

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
	rm -rf $(VENV) $(TOOLS) var/*.sqlite3*
