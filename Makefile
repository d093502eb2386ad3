# Every target creates .venv and installs the package on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint tools tfa-source accel clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,cluster,accel]'
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

# TF-A's source for `sdei conform --target tfa` and its tests: Debian's arm-trusted-firmware
# source package, unpacked where the target looks (a deb-src entry is added beside the deb one).
TFA_SRC_CACHE := $${XDG_CACHE_HOME:-$$HOME/.cache}/sdei/tfa-src
tfa-source:
	@if ! ls -d $(TFA_SRC_CACHE)/arm-trusted-firmware-*/services/std_svc/sdei >/dev/null 2>&1 && [ -z "$$SDEI_TFA_SRC" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "fetching TF-A's source (apt-get source arm-trusted-firmware)"; \
	    if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then \
	      for f in /etc/apt/sources.list.d/*.sources; do [ -f "$$f" ] && sed -i 's/^Types: deb$$/Types: deb deb-src/' "$$f"; done; \
	      if [ -f /etc/apt/sources.list ]; then sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/sdei-deb-src.list; fi; \
	    fi; \
	    apt-get update -qq; \
	    command -v dpkg-source >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev >/dev/null; \
	    mkdir -p $(TFA_SRC_CACHE) && cd $(TFA_SRC_CACHE) && apt-get source -qq arm-trusted-firmware >/dev/null; \
	  else \
	    echo "TF-A source missing: add a deb-src entry, then apt-get source arm-trusted-firmware in $(TFA_SRC_CACHE) (or set SDEI_TFA_SRC)"; \
	  fi; \
	fi

# libcper (PyPI `cper`), the independent CPER decoder the record tests cross-check against: it
# builds from source with meson and Debian's libjson-c-dev.
CPER_STAMP := $(VENV)/.cper
$(CPER_STAMP): $(STAMP)
	@if ! pkg-config --exists json-c 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing libjson-c-dev and pkg-config (for libcper)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjson-c-dev pkg-config >/dev/null; \
	  else \
	    echo "libcper needs json-c: apt-get install libjson-c-dev pkg-config"; \
	  fi; \
	fi
	@if pkg-config --exists json-c 2>/dev/null; then \
	  $(BIN)/pip install --quiet meson-python meson ninja && \
	  PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pip install --quiet --no-build-isolation 'cper==0.0.4' && touch $@; \
	fi

# The hot paths compiled with mypyc (sdei.accel), rebuilt only when their sources changed. A C
# compiler is installed when missing and we are root; without one the sources run as they are
# (a note says so), except under CI, where the build must succeed.
accel: $(STAMP)
	@if ! command -v cc >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing gcc (for the compiled hot paths)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null; \
	fi
	@$(BIN)/python -c 'import sys, sdei.accel as a; sys.exit(a.main(["build", "--if-stale"]))' || \
	  if [ "$$CI" = true ]; then exit 1; else echo "note: the compiled hot paths did not build: the sources run as they are"; fi

demo: $(STAMP) accel
	$(BIN)/sdei demo

# One worker per core: the complete searches dominate, and they are independent. The suite
# runs with the compiled hot paths; then the machine's, the kernel's and the dfs's tests run on
# the sources alone (SDEI_ACCEL=0), and tests/machine/test_accel.py compares searches both ways.
PURE_TESTS := tests/machine tests/kernel tests/explore/test_dfs.py tests/explore/test_states.py
test: $(STAMP) tools tfa-source $(CPER_STAMP) accel
	$(BIN)/pytest -n auto
	SDEI_ACCEL=0 $(BIN)/pytest -n auto $(PURE_TESTS)

# SPIN for the side-by-side table: installed when missing and we are root.
bench: $(STAMP) accel
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
	rm -rf $(VENV) .accel .pytest_cache .mypy_cache .ruff_cache
