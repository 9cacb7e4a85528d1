#!/usr/bin/env bash
# Install mmcv 2.1.0 with its compiled ops into a Python environment, or only produce its wheel.
#
# mmcv 2.x publishes no wheels for current torch and its own download host is gone, so the wheel comes from, in
# order: a wheelhouse folder ($CTCBENCH_WHEELHOUSE, e.g. for air-gapped cluster nodes), the per-user wheel cache
# (${XDG_CACHE_HOME:-~/.cache}/ctcbench/wheels/<torch build>/), or a build from the PyPI sdist (about 25 minutes
# on 2 cores), which is then put into the cache so that the next clone or venv does not compile again.
# The cache is keyed by torch version and ops flavour: compiled ops are tied to the torch ABI they were built
# against, and a CPU-ops wheel lacks the CUDA kernels.
#
# Usage: install_mmcv.sh install|wheel PYTHON
#   install  make `import mmcv.ops` work in PYTHON's environment (no-op when it already does)
#   wheel    make sure the cache holds a wheel for PYTHON's torch and print its path (builds when absent)
# Environment: CTCBENCH_WHEELHOUSE, XDG_CACHE_HOME, FORCE_CUDA=1 (build CUDA kernels; needs nvcc matching
# torch.version.cuda), MAX_JOBS (parallel compile jobs, default: all cores).
# The build needs setuptools<81 (mmcv's setup.py imports pkg_resources), ninja and psutil in PYTHON's
# environment: envs/requirements-detect.txt pins them and `make install-detect` installs them first.
set -euo pipefail

MMCV_VERSION=2.1.0
# sha256 of mmcv-2.1.0.tar.gz on PyPI: the build refuses any other source archive.
MMCV_SDIST_SHA256=d387bcab66b467479b6660310e23746cfc79c6e57acf04094680adb499a5cd3f

die() {
    echo "install_mmcv.sh: error: $*" >&2
    exit 1
}
note() { echo "install_mmcv.sh: $*" >&2; }

[ $# -eq 2 ] || die "usage: install_mmcv.sh install|wheel PYTHON"
MODE=$1
case "$MODE" in install | wheel) ;; *) die "unknown mode '$MODE'; expected install or wheel" ;; esac
# Absolute path: the build changes directory. sys.executable keeps the venv's own path (symlinks unresolved).
PY=$("$2" -c "import sys; print(sys.executable)" 2>/dev/null) || die "$2 is not a working Python; run 'make install' first"

pip_() { "$PY" -m pip --disable-pip-version-check "$@"; }

ops_work() { # quiet unless $1 = loud; mmcv.ops fails when its extension is missing or built for another torch
    local errors=/dev/null
    [ "${1:-}" = loud ] && errors=/dev/stderr
    # With FORCE_CUDA=1 a CPU-only build does not count: its ops fail on GPU tensors.
    "$PY" - 2>"$errors" <<EOF
import importlib.metadata as m, sys
if m.version("mmcv") != "${MMCV_VERSION}":
    sys.exit(1)
from mmcv.ops import get_compiling_cuda_version
if "${FLAVOUR}" == "cudaops" and get_compiling_cuda_version() == "not available":
    sys.exit("mmcv is installed without CUDA kernels")
EOF
}

TORCH_VERSION=$("$PY" -c "import torch; print(torch.__version__)") ||
    die "torch is not importable by $PY; install envs/requirements.txt first (make install)"
if [ "${FORCE_CUDA:-0}" = "1" ]; then FLAVOUR=cudaops; else FLAVOUR=cpuops; fi
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/ctcbench/wheels/torch-${TORCH_VERSION}-${FLAVOUR}"

install_from() { # folder: install the mmcv wheel found there, without dependencies (see requirements-detect.txt)
    pip_ install --quiet --no-index --find-links "$1" --no-deps --force-reinstall "mmcv==${MMCV_VERSION}"
}

check_nvcc() {
    command -v nvcc >/dev/null || die "FORCE_CUDA=1 but nvcc is not on PATH; load the CUDA toolkit that matches torch"
    local want have
    want=$("$PY" -c "import torch; print(torch.version.cuda or '')")
    [ -n "$want" ] || die "FORCE_CUDA=1 but torch ${TORCH_VERSION} is a CPU build; install a CUDA build of torch first"
    have=$(nvcc --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')
    [ "$have" = "$want" ] || die "nvcc is CUDA ${have}, torch ${TORCH_VERSION} was built with CUDA ${want}; load CUDA ${want}"
}

build_wheel() { # build from the PyPI sdist into the cache
    "$PY" - <<'EOF' || die "the build needs setuptools<81, ninja and psutil; run: $PY -m pip install -r envs/requirements-detect.txt"
import importlib.metadata as m
import ninja, psutil  # noqa: F401
major = int(m.version("setuptools").split(".")[0])
assert major < 81, "setuptools >= 81 has no pkg_resources"
EOF
    if [ "$FLAVOUR" = cudaops ]; then check_nvcc; fi
    work=$(mktemp -d "${TMPDIR:-/tmp}/ctcbench-mmcv.XXXXXX") # global: the EXIT trap outlives this function
    trap 'rm -rf "$work"' EXIT
    note "building mmcv ${MMCV_VERSION} (${FLAVOUR}) for torch ${TORCH_VERSION} from the PyPI sdist in $work"
    note "this compiles the ops on ${MAX_JOBS:-$(nproc)} cores and takes about 25 minutes on 2"
    (
        cd "$work"
        pip_ download --quiet --no-deps --no-build-isolation --no-binary :all: "mmcv==${MMCV_VERSION}" -d .
        echo "${MMCV_SDIST_SHA256}  mmcv-${MMCV_VERSION}.tar.gz" | sha256sum --check --quiet ||
            die "mmcv-${MMCV_VERSION}.tar.gz does not match its pinned sha256; the download was altered"
        tar xzf "mmcv-${MMCV_VERSION}.tar.gz"
        cd "mmcv-${MMCV_VERSION}"
        # torch >= 2.13 headers need C++20; mmcv's setup.py hard-codes C++17 for every extension.
        sed -i 's/-std=c++17/-std=c++20/g' setup.py
        grep -q -- '-std=c++20' setup.py || die "setup.py of mmcv ${MMCV_VERSION} has no -std=c++17 flag to patch"
        MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" pip_ wheel --no-build-isolation --no-deps -w "$work/dist" .
    )
    local built
    built=$(ls "$work"/dist/mmcv-"${MMCV_VERSION}"-*.whl 2>/dev/null | head -n 1)
    [ -n "$built" ] || die "the mmcv build produced no wheel; see the compiler output above"
    mkdir -p "$CACHE_DIR"
    # Copy under a temporary name and rename, so that a killed copy never leaves a truncated wheel in the cache.
    cp "$built" "$CACHE_DIR/.$(basename "$built").part"
    mv "$CACHE_DIR/.$(basename "$built").part" "$CACHE_DIR/$(basename "$built")"
    note "cached $CACHE_DIR/$(basename "$built")"
}

cached_wheel() { ls "$CACHE_DIR"/mmcv-"${MMCV_VERSION}"-*.whl 2>/dev/null | head -n 1; }

if [ "$MODE" = wheel ]; then
    [ -n "$(cached_wheel)" ] || build_wheel
    cached_wheel
    exit 0
fi

if ops_work; then
    note "mmcv ${MMCV_VERSION} with compiled ops is already installed"
    exit 0
fi
if [ -n "${CTCBENCH_WHEELHOUSE:-}" ]; then
    [ -d "$CTCBENCH_WHEELHOUSE" ] || die "CTCBENCH_WHEELHOUSE=$CTCBENCH_WHEELHOUSE is not a folder; unset it or point it at the mmcv wheel's folder"
    note "installing mmcv ${MMCV_VERSION} from the wheelhouse $CTCBENCH_WHEELHOUSE"
    install_from "$CTCBENCH_WHEELHOUSE" ||
        die "$CTCBENCH_WHEELHOUSE holds no mmcv-${MMCV_VERSION} wheel for this Python; add one (make mmcv-wheel builds it) or unset CTCBENCH_WHEELHOUSE"
else
    if [ -z "$(cached_wheel)" ]; then build_wheel; else note "using the cached wheel $(cached_wheel)"; fi
    install_from "$CACHE_DIR"
fi
ops_work loud || die "mmcv ${MMCV_VERSION} installed but 'import mmcv.ops' fails (above): install mmengine==0.10.7 first; if the error is an undefined symbol, the wheel was built for another torch than ${TORCH_VERSION}: rebuild it (remove it from the wheelhouse or $CACHE_DIR)"
note "mmcv ${MMCV_VERSION} with compiled ops installed"
