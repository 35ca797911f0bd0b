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

# PostgreSQL 15 server binaries for the tests' throw-away server (present on this machine
# kind; installed when missing).
system-deps:
	@if [ ! -x /usr/lib/postgresql/15/bin/initdb ] && ! command -v initdb >/dev/null; then \
		echo "installing PostgreSQL 15 server binaries"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; \
	fi

run: install
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
	@echo "== test suite on SQLite =="
	$(BIN)/python -m pytest -p daozhang.testing.pytest_pg
	@echo "== test suite on PostgreSQL (throw-away server) =="
	DAOZHANG_TEST_DB=postgres $(BIN)/python -m pytest -p daozhang.testing.pytest_pg

lint: install
	$(BIN)/ruff check src tests bench

typecheck: install
	$(BIN)/mypy src

bench: install system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) var/*.sqlite3*
