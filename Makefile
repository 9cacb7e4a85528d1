# ctcbench: `make demo` (install + the whole DAG on the synthetic twin) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
DETECT_STAMP := $(VENV)/.installed-detect
# Rules call `python -m ctcbench`: the virtual environment's interpreter must come first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: install demo test test-all bench lint format clean-demo check-tables update-reference report

$(STAMP): envs/requirements.txt envs/requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r envs/requirements.txt -r envs/requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Everything the DAG needs: the core pins and MMDetection (mmcv from $CTCBENCH_WHEELHOUSE, the wheel cache, or
# built from source once, ~25 min on 2 cores; see workflow/ctcbench/detect/README.md).
install: $(STAMP) $(DETECT_STAMP)

demo: install
	$(BIN)/snakemake --workflow-profile workflow/profiles/demo

# pytest exits 5 when it collected nothing: that is a failure, not a pass.
test: install
	$(BIN)/pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-all: $(STAMP)
	$(BIN)/pytest -m "not perf"

bench: $(STAMP)
	$(BIN)/pytest tests/perf -m perf -s

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/snakefmt Snakefile workflow/rules
	$(BIN)/ruff format .

# Regenerate both demo configurations from scratch in a scratch folder and compare every table and figure CSV
# with the committed reference (tests/reference/). CHECK_WORK=DIR keeps the runs there (default: a temporary
# folder, removed when the check passes).
CHECK_WORK ?=
check-tables: install
	$(BIN)/python -m ctcbench reference-check $(if $(CHECK_WORK),--work $(CHECK_WORK)) $(CHECK_FLAGS)

# Rewrite tests/reference/ (and the README's demo numbers) from a fresh run; commit it with the change that
# moved the numbers, saying why in the message.
update-reference: install
	$(BIN)/python -m ctcbench reference-update

# The Snakemake HTML report of a finished results tree: results/$(PRESET)/report.html.
PRESET ?= demo
report: install
	$(BIN)/snakemake --config preset=$(PRESET) --report results/$(PRESET)/report.html

clean-demo:
	rm -rf results/demo

# ---------------------------------------------------------------------------------------------------------------
# Detection stage: MMDetection 3.3.0 on mmengine 0.10.7 and mmcv 2.1.0 (workflow/ctcbench/detect/README.md).
# mmcv comes from $CTCBENCH_WHEELHOUSE when set, else from the wheel cache (${XDG_CACHE_HOME:-~/.cache}/ctcbench/
# wheels), else it is built from the PyPI sdist (~25 min on 2 cores) and cached. The three are installed without
# dependencies (mmengine first: mmcv.ops imports it): their metadata asks for opencv-python, which would replace
# the pinned opencv-python-headless.
MMCV_SCRIPT := workflow/ctcbench/detect/install_mmcv.sh
MM_PINS := mmengine==0.10.7 mmdet==3.3.0

.PHONY: install-detect mmcv-wheel

install-detect: $(DETECT_STAMP)

$(DETECT_STAMP): $(STAMP) envs/requirements-detect.txt $(MMCV_SCRIPT)
	$(BIN)/pip install --quiet -r envs/requirements-detect.txt
	$(BIN)/pip install --quiet --no-deps $(MM_PINS)
	bash $(MMCV_SCRIPT) install $(BIN)/python
	$(BIN)/python -c "import mmdet.models, mmcv.ops; print('mmdet', mmdet.__version__, 'with mmcv ops: ok')"
	$(BIN)/snakemake --version > /dev/null
	touch $@

# Build (or reuse) the cached mmcv wheel for this venv's torch and print its path: copy it into a wheelhouse for
# machines that cannot compile. FORCE_CUDA=1 builds the CUDA kernels too.
mmcv-wheel: $(STAMP)
	$(BIN)/pip install --quiet -r envs/requirements-detect.txt
	bash $(MMCV_SCRIPT) wheel $(BIN)/python
