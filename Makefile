# Everything lives in ./.venv; every target is idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run run-full test test-slow lint format bench browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-cache-dir --upgrade pip
	# torch first, pinned: 2.13.0 is the CPU build on this machine's disk; any other
	# spec (or a dependency pulling torch in) would download a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet --no-cache-dir torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-cache-dir -e '.[dev]'
	touch $(STAMP)

# Main job on built-in defaults: the Comment reproduced in quick mode (< 5 min on 2 cores),
# report in out/quick/report.html. Published orbits are compared when ../shared/reference
# exists (optional: nothing needs them to run).
REFERENCE := $(wildcard ../shared/reference)
run: setup
	mkdir -p out
	$(BIN)/degeneracy reproduce --quick --output out/quick $(if $(REFERENCE),--reference $(REFERENCE))

# The full reproduction (Euler orbits, full learning; under 45 min on 2 cores).
run-full: setup
	mkdir -p out
	$(BIN)/degeneracy reproduce --output out/full $(if $(REFERENCE),--reference $(REFERENCE))

# Lint, format check and the test suite (slow end-to-end runs excluded; `make test-slow`),
# in two processes, one per core of the machines this runs on; each test module stays in
# one process (--dist loadscope), so its module-scoped fixtures are built once.
test: setup lint browser
	$(BIN)/python -m pytest -q -m "not slow" -n 2 --dist loadscope

# One process: its learning runs stop at a time limit, which a second process would move.
test-slow: setup
	$(BIN)/python -m pytest -q -m slow

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: setup
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/bench_spectrum.py

# Headless Chromium + chromedriver (Debian packages) for the HTML-report rendering test.
# Installed only when missing and apt-get is usable (root); otherwise that test skips.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium + chromium-driver for the report rendering test"; \
		apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
		apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium chromium-driver >/dev/null && apt-get clean; \
	else echo "no chromium: the report rendering test will skip"; fi

clean:
	rm -rf $(VENV) build src/*.egg-info
