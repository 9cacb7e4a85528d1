"""Session fixtures of the tests that run whole pipelines on the classification tests' tiny twin (pipeline, apply):
import them into a test folder's conftest. Each folder builds its own copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from classify.classify_helpers import TinyCrops, build_tiny_crops

from ctcbench.data.layout import DatasetLayout
from ctcbench.data.pointer import write_pointer


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> TinyCrops:
    """18 images of 128 x 128 with crop caches of both image readers (classify_helpers.build_tiny_crops)."""
    return build_tiny_crops(tmp_path_factory.mktemp("tiny_twin"))


@pytest.fixture(scope="session")
def layout(twin: TinyCrops) -> DatasetLayout:
    return DatasetLayout(twin.root.parent / "dataset")


@pytest.fixture(scope="session")
def pointer(twin: TinyCrops, layout: DatasetLayout) -> Path:
    """The twin's dataset pointer, with the generator facts a bundle records (image size, seed, images)."""
    path = twin.root.parent / "dataset.json"
    write_pointer(path, layout.root, "synth", image_size=128, seed=0, images_per_patient={"r06": 6, "r07": 6})
    return path


__all__ = ["layout", "pointer", "twin"]
