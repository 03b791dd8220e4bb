# Two entry points (see README):  `make run`  and  `make test`.
# Both are idempotent: set-up steps are skipped when already done.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all
PROFILE ?=
SNAKEMAKE_ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test setup system-deps lint dry-run clean bench

run: setup
	$(BIN)/snakemake --cores $(CORES) $(if $(PROFILE),--config profile=$(PROFILE)) $(SNAKEMAKE_ARGS)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(STAMP)

system-deps:
	@tools/check_system_deps.sh

$(STAMP): requirements.txt pyproject.toml tools/gpaw_siteconfig.py
	@tools/check_system_deps.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel setuptools
	grep -v '^gpaw==' requirements.txt > $(VENV)/requirements-nogpaw.txt
	$(BIN)/python -m pip install -q -r $(VENV)/requirements-nogpaw.txt
	@# GPAW compiles a C/C++ extension: CC=g++, against Debian's libxc/OpenBLAS/FFTW.
	@# --no-build-isolation builds it against the pinned numpy already in the venv.
	$(BIN)/python -c "import gpaw" 2>/dev/null || CC=g++ GPAW_CONFIG=$(CURDIR)/tools/gpaw_siteconfig.py \
	  $(BIN)/python -m pip install -q --no-build-isolation $$(grep '^gpaw==' requirements.txt)
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -c "import gpaw, gpaw.setup_data; from gpaw import GPAW; print('[setup] gpaw', gpaw.__version__)"
	@touch $@

# ruff (pyflakes, pycodestyle, import order, complexity; settings in pyproject.toml), Snakemake's
# own linter, and snakefmt's formatting check of the workflow files.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules/

dry-run: setup
	$(BIN)/snakemake -n

bench: setup
	$(BIN)/python benchmarks/model_bench.py

clean:
	rm -rf results .snakemake
