"""Session fixtures of the pipeline tests (helpers in pipeline_helpers.py): the classification tests' tiny twin,
its dataset pointer and a tiny classifier per protocol."""

from __future__ import annotations

from pathlib import Path

import pytest
from classify.classify_helpers import TinyCrops, build_tiny_crops, tiny_config

from ctcbench.classify.train import train
from ctcbench.data.layout import DatasetLayout
from ctcbench.data.pointer import write_pointer


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> TinyCrops:
    """18 images of 128 x 128 with crop caches of both protocols (classify_helpers.build_tiny_crops)."""
    return build_tiny_crops(tmp_path_factory.mktemp("pipeline_twin"))


@pytest.fixture(scope="session")
def layout(twin: TinyCrops) -> DatasetLayout:
    return DatasetLayout(twin.root.parent / "dataset")


@pytest.fixture(scope="session")
def pointer(twin: TinyCrops, layout: DatasetLayout) -> Path:
    path = twin.root.parent / "dataset.json"
    write_pointer(path, layout.root, "synth")
    return path


@pytest.fixture(scope="session")
def classifiers(twin: TinyCrops, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """best.pt of a tiny Brightfield + Fluorescence classifier per protocol (a few seconds each)."""
    paths = {}
    for protocol in ("faithful", "corrected"):
        config = tiny_config(twin, tmp_path_factory.mktemp(f"classifier_{protocol}"), protocol=protocol)
        assert train(config, progress=False).completed
        paths[protocol] = config.out_dir / "best.pt"
    return paths
