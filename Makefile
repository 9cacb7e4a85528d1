# ctcbench: `make demo` (install + the whole DAG on the synthetic twin) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
# Rules call `python -m ctcbench`: the virtual environment's interpreter must come first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: install demo test test-all bench lint format clean-demo

$(STAMP): envs/requirements.txt envs/requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r envs/requirements.txt -r envs/requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/snakemake --workflow-profile workflow/profiles/demo

# pytest exits 5 when it collected nothing: that is a failure, not a pass.
test: $(STAMP)
	$(BIN)/pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-all: $(STAMP)
	$(BIN)/pytest -m "not perf"

bench: $(STAMP)
	$(BIN)/pytest tests/perf -m perf -s

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

format: $(STAMP)
	$(BIN)/snakefmt Snakefile workflow/rules

clean-demo:
	rm -rf results/demo
