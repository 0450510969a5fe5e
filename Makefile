# One command each: `make setup`, `make test`. See README.md.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup test lint

setup:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip wheel
	# CPU build of torch from local disk first; an unpinned torch would pull CUDA.
	$(BIN)/pip install torch==2.13.0
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/pip install -e '.[dev]'
	$(BIN)/align setup
	# the browser tests drive Debian's chromium through Playwright (never `playwright install`)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	# deploy/ checks (tests/integration/test_deploy_config.py): a compose implementation and Caddy,
	# from Debian's packages when missing (Debian has docker-compose, not the docker compose plugin).
	(docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null) && command -v caddy >/dev/null \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose caddy) \
	  || echo "warning: could not install docker-compose and caddy; the deploy config tests will skip"

test:
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

lint:
	$(BIN)/ruff check . && $(BIN)/mypy
