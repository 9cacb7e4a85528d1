"""Helpers of the detection-stage tests: the tiny twin's settings, tiny run configs and image lists.

A plain module (not conftest) so test files can import it by name whichever test folders pytest collects first.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ctcbench.data.splits import write_image_list
from ctcbench.data.synth import TwinConfig

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


def tiny_config(demo_config: dict, **detect: object) -> dict:
    """The demo config with one epoch of one iteration-sized batch and the given `detect` overrides."""
    config = copy.deepcopy(demo_config)
    config["detect"].update({"epochs": 1, "milestones": [1], "warmup_iters": 0, "log_interval": 1, **detect})
    return config


def image_list(path: Path, ids: list[str]) -> Path:
    write_image_list(path, ids)
    return path
