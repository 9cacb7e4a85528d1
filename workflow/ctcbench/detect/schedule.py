"""The length of a detector run and of its warm-up (docs/protocol.md#detector-schedule).

Every run trains `detect.epochs` epochs and drops the learning rate x0.1 at the `detect.milestones` epochs, so the
drops sit at the same fractions of a short run as of the main one. The linear warm-up is counted in iterations,
though: 1000 of the main run's 7,744 (967 images, batch 4: 242 iterations per epoch), but more than all 736 of a
per-patient run on 91 images, which never leaves it. The protocol's `detector_schedule_scaling` decides (the
per-patient configs of the original could not run, so their schedule is a reconstruction: docs/defects.md#defect-4):
`fixed` warms up over `detect.warmup_iters` iterations in every run; `scaled` over at most `detect.warmup_fraction`
of the run's iterations, rounded up, which keeps the main run's 1000.

Torch-free, like the config generator's callers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..errors import DatasetError

if TYPE_CHECKING:
    from .spec import RunSpec


def iterations_per_epoch(train_images: int, batch_size: int) -> int:
    """Batches of one epoch: mmengine's loader keeps the last, smaller batch."""
    if train_images < 1:
        raise DatasetError("a detector run needs at least one training image; check its image list")
    return math.ceil(train_images / batch_size)


def run_iterations(spec: RunSpec, train_images: int) -> int:
    """Iterations of the whole run."""
    return iterations_per_epoch(train_images, spec.detect["batch_size"]) * spec.detect["epochs"]


def warmup_iterations(spec: RunSpec, train_images: int) -> int:
    """Iterations of the linear warm-up under the protocol's `detector_schedule_scaling`."""
    configured = spec.detect["warmup_iters"]
    if spec.switches.detector_schedule_scaling == "fixed":
        return configured
    # Rounded before rounding up, so that 0.14 x 100 is 14 and not the 15 of its float 14.000000000000002.
    share = round(spec.detect["warmup_fraction"] * run_iterations(spec, train_images), 9)
    return min(configured, math.ceil(share))
