# channelsync — the two commands:
#   make demo   set up, start the sandbox and Airflow with the demo integrations (Ctrl-C stops all)
#   make test   set up, then lint, type-check and run the whole test suite
SHELL := /bin/bash
PORT ?= 8080
SANDBOX_PORT ?= 8700
SCALE ?= small
export PORT SANDBOX_PORT SCALE

.PHONY: setup demo demo-celery test lint bench clean

setup: .venv/.installed

.venv/.installed: requirements.txt pyproject.toml scripts/setup-venv.sh
	@bash scripts/setup-venv.sh
	@touch $@

demo: setup
	@bash scripts/demo.sh

# The production profile on this machine: CeleryExecutor (2 workers), PostgreSQL, Redis (docs/deployment.md)
demo-celery: setup
	@bash scripts/demo_celery.sh

test: setup
	@bash scripts/test.sh

lint: setup
	@.venv/bin/ruff check . && .venv/bin/mypy include plugins

bench: setup
	@bash scripts/bench.sh

clean:
	rm -rf .venv .airflow .pytest_cache .mypy_cache .ruff_cache
