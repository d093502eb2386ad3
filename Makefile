# Every target creates .venv and installs the package on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint tools clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,cluster]'
	touch $(STAMP)

# dtc and iasl are used by the discovery tests, chromium and chromedriver by the report tests;
# install them when missing and we are root.
tools:
	@if ! command -v dtc >/dev/null || ! command -v iasl >/dev/null || ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing device-tree-compiler, acpica-tools, chromium and chromium-driver"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq device-tree-compiler acpica-tools chromium chromium-driver >/dev/null; \
	  else \
	    echo "tools missing: apt-get install device-tree-compiler acpica-tools chromium chromium-driver"; \
	  fi; \
	fi

demo: $(STAMP)
	$(BIN)/sdei demo

# One worker per core: the complete searches dominate, and they are independent.
test: $(STAMP) tools
	$(BIN)/pytest -n auto

# SPIN for the side-by-side table: installed when missing and we are root.
bench: $(STAMP)
	@if ! command -v spin >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing spin"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spin >/dev/null; \
	  else \
	    echo "spin missing (apt-get install spin): the SPIN table says so"; \
	  fi; \
	fi
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
