"""How long one table cell's bootstrap interval takes at the paper's size: 120 test images of 3 patients, 3 runs
(seeds), 1000 resamples (docs/metrics.md#intervals). Image level: up to 100 boxes per image (the detectors' cap),
about 15 of them true positives (the image level's cost grows with the true positives); cell level: 5,000 val crops
of 120 images.

Run with `make bench` (pytest tests/perf -m perf -s); it prints the times, asserting only that the intervals are
proper ones.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from ctcbench.classify.crop_records import CropRecords
from ctcbench.detect.image_matches import ImageMatches
from ctcbench.report.bootstrap import Bootstrap
from ctcbench.report.intervals import Intervals
from ctcbench.report.results import Result

pytestmark = pytest.mark.perf

IMAGES = [f"r0{6 + i // 40}c01f{i % 40:02d}p01" for i in range(120)]
PATIENTS = np.array([i[:3] for i in IMAGES])


def image_matches(seed: int) -> ImageMatches:
    rng = np.random.default_rng(seed)
    n_predictions = rng.integers(50, 101, len(IMAGES))
    scores = rng.uniform(0, 1, n_predictions.sum())
    return ImageMatches(np.array(IMAGES), PATIENTS, rng.integers(15, 30, len(IMAGES)), n_predictions, scores,
                        rng.uniform(size=len(scores)) < scores * 0.4, 0.5)  # fmt: skip


def crop_records(seed: int) -> CropRecords:
    rng = np.random.default_rng(seed)
    crops = np.array(IMAGES)[rng.integers(0, len(IMAGES), 5000)]
    is_cancer = rng.uniform(size=len(crops)) < 0.3
    p_cancer = np.clip(rng.normal(0.3 + 0.4 * is_cancer, 0.2), 0, 1).astype(np.float32)
    return CropRecords(crops, np.array([c[:3] for c in crops]), is_cancer, p_cancer)


def timed_cell(make, metric: str) -> tuple[float, tuple[float, float]]:
    records = {f"s{seed}/per_image.npz": make(seed) for seed in range(3)}
    rows = [Result("pipeline", "", "d", "bf", "all", "all", "", seed, 0.7, "Unioned", "all", metric, 0.5, "faithful",
                   f"s{seed}/metrics.json") for seed in range(3)]  # fmt: skip
    start = time.perf_counter()
    interval = Intervals(records, Bootstrap(1000)).interval(rows)
    return time.perf_counter() - start, interval


@pytest.mark.parametrize("level, make, metric", [("image", image_matches, "ap50"), ("cell", crop_records, "f1")])
def test_one_cell_of_three_runs_and_1000_resamples(level, make, metric):
    seconds, (low, high) = timed_cell(make, metric)
    print(
        f"\n{level} level: one cell (3 runs x 1000 resamples x 120 images) in {seconds:.2f} s, [{low:.1f}, {high:.1f}]"
    )
    assert 0 <= low < high <= 100
