"""Session fixtures of the bundle tests (helpers in apply_helpers.py): the pipeline tests' tiny twin, and two tiny
pipelines trained, scored, evaluated and exported as the workflow does it: faithful Brightfield + Fluorescence (whose
threshold export chooses on val itself) and corrected Brightfield (held-out threshold, brightfield files alone).

Tests of a trained pipeline need MMDetection and skip cleanly without it (`make install-detect`)."""

from __future__ import annotations

import pytest
from apply_helpers import ROOT, PipelineRun, export_args, train_pipeline_runs
from tiny_twin_fixtures import *  # noqa: F403  (the session fixtures twin, layout, pointer)

from ctcbench.cli import main
from ctcbench.config import load

PIPELINES = (("faithful", "bf_fluo"), ("corrected", "bf"))


@pytest.fixture(scope="session")
def pipelines(twin, layout, pointer, tmp_path_factory) -> dict[tuple[str, str], PipelineRun]:
    """(protocol, setting) -> the pairing's results and its bundle, exported through `ctcbench export`."""
    pytest.importorskip("mmdet")
    demo_config = load(ROOT / "config.yaml", {"preset": "demo"})
    runs = {}
    for protocol, setting in PIPELINES:
        base = tmp_path_factory.mktemp(f"pipeline_{protocol}_{setting}")
        files = train_pipeline_runs(base, twin, pointer, layout, demo_config, protocol, setting)
        bundle = base / "bundles" / "faster_rcnn" / setting / "all" / "seed0" / "omega0.7"
        assert main(export_args(files, bundle)) == 0
        runs[protocol, setting] = PipelineRun(protocol, setting, files, bundle)
    return runs
