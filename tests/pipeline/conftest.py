"""Session fixtures of the pipeline tests (helpers in pipeline_helpers.py): the classification tests' tiny twin,
its dataset pointer and a tiny classifier per protocol."""

from __future__ import annotations

from pathlib import Path

import pytest
from classify.classify_helpers import TinyCrops, tiny_config
from tiny_twin_fixtures import *  # noqa: F403  (the session fixtures twin, layout, pointer)

from ctcbench.classify.train import train


@pytest.fixture(scope="session")
def classifiers(twin: TinyCrops, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """best.pt of a tiny Brightfield + Fluorescence classifier per protocol (a few seconds each)."""
    paths = {}
    for protocol in ("faithful", "corrected"):
        config = tiny_config(twin, tmp_path_factory.mktemp(f"classifier_{protocol}"), protocol=protocol)
        assert train(config, progress=False).completed
        paths[protocol] = config.out_dir / "best.pt"
    return paths
