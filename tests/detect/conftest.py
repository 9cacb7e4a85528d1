"""Fixtures of the detection-stage tests: a tiny synthetic twin, its dataset pointer and tiny run specs.

Every test module that needs MMDetection starts with `pytest.importorskip("mmdet")`, so the folder skips cleanly
where the detection stage is not installed (`make install-detect`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from detect_helpers import ROOT, TWIN

from ctcbench.config import load
from ctcbench.data.pointer import write_pointer
from ctcbench.data.synth import generate_twin


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dataset pointer of a tiny twin (11 images of 160 x 160, 3 of them test images)."""
    base = tmp_path_factory.mktemp("detect_twin")
    generate_twin(base / "dataset", TWIN, progress=False)
    pointer = base / "dataset.json"
    write_pointer(pointer, base / "dataset", "synth")
    return pointer


@pytest.fixture(scope="session")
def demo_config() -> dict:
    """The resolved demo preset (tiny detectors, random initialisation)."""
    return load(ROOT / "config.yaml", {"preset": "demo"})


@pytest.fixture(scope="session")
def paper_config() -> dict:
    return load(ROOT / "config.yaml")
