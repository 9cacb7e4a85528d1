"""Tiles of images larger than the training images (docs/apply.md#image-size): they cover the image, overlap by at
least the asked overlap, and every detection is kept by exactly one tile."""

from __future__ import annotations

import numpy as np
import pytest

from ctcbench.apply.tiling import default_overlap, merge, spans, tiles
from ctcbench.detect.predictions import ImageDetections
from ctcbench.errors import ConfigError


@pytest.mark.parametrize(("length", "tile", "overlap"), [(300, 128, 16), (1081, 1080, 135), (2160, 1080, 135),
                                                         (5000, 1080, 200), (256, 128, 0)])  # fmt: skip
def test_spans_cover_the_image_and_overlap_enough(length, tile, overlap):
    found = spans(length, tile, overlap)
    assert found[0].start == 0 and found[-1].end == length
    assert all(s.end - s.start == tile for s in found)
    assert all(a.end - b.start >= overlap for a, b in zip(found, found[1:]))
    # Cores split the line: each ends where the next begins, halfway across their overlap.
    assert found[0].core_start == -np.inf and found[-1].core_end == np.inf
    assert all(a.core_end == b.core_start == (a.end + b.start) / 2 for a, b in zip(found, found[1:]))


def test_an_image_no_larger_than_a_tile_is_one_tile():
    assert [(t.x.start, t.x.end, t.y.start, t.y.end) for t in tiles(96, 128, (128, 128), 16)] == [(0, 96, 0, 128)]
    assert len(tiles(300, 100, (128, 128), 16)) == 3 and default_overlap((1080, 1080)) == 135


def test_an_overlap_as_large_as_the_tile_is_refused():
    with pytest.raises(ConfigError, match="--tile-overlap 128: expected at least 0 and less than the tile size 128"):
        spans(300, 128, 128)


def test_a_cell_seen_by_two_tiles_is_kept_once_and_a_cut_one_not_at_all():
    """Tiles [0, 128) and [64, 192) of a 192 px wide image (cores split at x = 96): a cell at x 80-100 (centre 90) is
    found whole by both, and cut at x = 128 by the first tile as 120-128 (it lies at 120-140)."""
    left, right = tiles(192, 128, (128, 128), 64)
    assert (left.x.start, right.x.start, left.x.core_end) == (0, 64, 96)
    seen_left = ImageDetections(128, 128, np.array([[80.0, 10, 100, 30], [120, 50, 128, 70]]), np.array([0.9, 0.8]))
    seen_right = ImageDetections(128, 128, np.array([[16.0, 10, 36, 30], [56, 50, 76, 70]]), np.array([0.85, 0.7]))
    merged = merge([(left, seen_left), (right, seen_right)], 192, 128)
    assert merged.boxes.tolist() == [[80, 10, 100, 30], [120, 50, 140, 70]]
    assert merged.scores.tolist() == [0.9, 0.7] and (merged.width, merged.height) == (192, 128)
