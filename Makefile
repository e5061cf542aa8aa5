SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

ORDERS_PG_PORT ?= 55432
PG_ADMIN_URL := postgresql://orders:orders@127.0.0.1:$(ORDERS_PG_PORT)/postgres
TEST_DB ?= orders_test
TEST_DATABASE_URL := postgresql+psycopg://orders:orders@127.0.0.1:$(ORDERS_PG_PORT)/$(TEST_DB)
PYTEST_ARGS ?=
# The local Prometheus of scripts/services discovers `make dev` through a file here.
PROMETHEUS_SD_DIR ?= $${ORDERS_SERVICES_DIR:-/var/lib/orders-cqrs}/prometheus/targets
# ... and the ops page draws lag over the last hour from it.
PROMETHEUS_URL ?= http://127.0.0.1:$${ORDERS_PROMETHEUS_PORT:-19090}
BENCH_ARGS ?=

LINT_PATHS := src tests alembic

.PHONY: help venv services browser test-db lint test migrate dev bench format compose-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv and install the package with its dev extras

# Reinstalls only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

services: ## install (if missing) and start local PostgreSQL, Redis, OpenSearch and Prometheus
	scripts/services start

browser: ## install Debian's Chromium for the browser tests (never a downloaded browser)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test-db: venv services ## recreate the test database (TEST_DB, default orders_test) and migrate it to head
	psql '$(PG_ADMIN_URL)' -X -q -v ON_ERROR_STOP=1 \
		-c 'DROP DATABASE IF EXISTS $(TEST_DB) WITH (FORCE)' \
		-c 'CREATE DATABASE $(TEST_DB) OWNER orders'
	ORDERS_DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/alembic upgrade head
	ORDERS_DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/alembic check

lint: venv ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy src

test: venv services browser test-db lint ## lint, then the test suite against orders_test
	ORDERS_DATABASE_URL='$(TEST_DATABASE_URL)' $(BIN)/pytest $(PYTEST_ARGS)

migrate: venv ## upgrade the database named by ORDERS_DATABASE_URL (default: orders)
	$(BIN)/orders-cqrs migrate

dev: venv services ## migrate, seed demo products and serve the API locally (Prometheus scrapes it)
	$(BIN)/orders-cqrs migrate
	ORDERS_PROMETHEUS_SD_DIR="$${ORDERS_PROMETHEUS_SD_DIR-$(PROMETHEUS_SD_DIR)}" \
	ORDERS_PROMETHEUS_URL="$${ORDERS_PROMETHEUS_URL-$(PROMETHEUS_URL)}" $(BIN)/orders-cqrs dev

# The bench's own database, Redis DB and stream; it drops them at the end (BENCH_ARGS=--keep
# keeps them). BENCH_ARGS=--short is the quick check; --compare old.json prints deltas.
bench: venv services ## measure checkout, relay, projections, rebuilds, freshness (BENCH_ARGS=--short)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	@command -v pgbench >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client; }
	$(BIN)/orders-cqrs bench $(BENCH_ARGS)

format: venv ## ruff format and ruff check --fix
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

compose-check: ## validate docker-compose.yml (with .env, or .env.example when there is none)
	@envfile=.env; [ -f "$$envfile" ] || envfile=.env.example; \
	if docker compose version >/dev/null 2>&1; then \
		docker compose --env-file "$$envfile" config -q; \
	elif command -v docker-compose >/dev/null 2>&1; then \
		docker-compose --env-file "$$envfile" config -q; \
	else \
		echo "no compose CLI is installed (need 'docker compose' or 'docker-compose')" >&2; \
		exit 1; \
	fi

clean: ## remove .venv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -prune -exec rm -rf {} +
