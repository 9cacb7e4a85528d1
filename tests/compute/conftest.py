"""Fixtures of the compute-projection tests: the resolved paper and demo configs and a small dataset's counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctcbench.compute.counts import DatasetCounts
from ctcbench.config import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def paper_config() -> dict:
    return load(ROOT / "config.yaml")


@pytest.fixture(scope="session")
def demo_config() -> dict:
    return load(ROOT / "config.yaml", {"preset": "demo"})


@pytest.fixture(scope="session")
def small_counts() -> DatasetCounts:
    """Counts small enough to multiply out by hand (the faithful demo twin's)."""
    return DatasetCounts(
        source="hand-made",
        images={"train": 24, "val": 7, "test": 9},
        crops={"train": {"R": 107, "G": 123, "U": 137}, "val": {"R": 15, "G": 41, "U": 55}},
        patient_train_images={"r06": 10, "r07": 10, "r08": 4},
        patients_estimated=False,
    )
