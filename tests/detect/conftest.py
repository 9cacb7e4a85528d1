"""Fixtures of the detection-stage tests: a tiny synthetic twin, its dataset pointer and tiny run specs.

Every test module that needs MMDetection starts with `pytest.importorskip("mmdet")`, so the folder skips cleanly
where the detection stage is not installed (`make install-detect`).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from ctcbench.config import load
from ctcbench.data.pointer import write_pointer
from ctcbench.data.splits import write_image_list
from ctcbench.data.synth import TwinConfig, generate_twin

ROOT = Path(__file__).resolve().parents[2]
# Small enough for one iteration of each detector in about a second; 160 pixels keep FCOS's coarsest map
# (stride 128) larger than 1 x 1, which its one-channel GroupNorm groups need.
TWIN = TwinConfig.demo(
    image_size=160,
    images_per_patient={"r06": 4, "r07": 4, "r08": 3},
    test_per_patient=1,
    cells_per_image=6.0,
    cell_radius=10.0,
    debris_per_image=1.0,
    write_crops=False,
)


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


def tiny_config(demo_config: dict, **detect: object) -> dict:
    """The demo config with one epoch of one iteration-sized batch and the given `detect` overrides."""
    config = copy.deepcopy(demo_config)
    config["detect"].update({"epochs": 1, "milestones": [1], "warmup_iters": 0, "log_interval": 1, **detect})
    return config


def image_list(path: Path, ids: list[str]) -> Path:
    write_image_list(path, ids)
    return path
