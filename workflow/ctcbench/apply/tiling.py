"""Images larger than the training images: cut into overlapping tiles of the training size (docs/apply.md#image-size).

Cells keep their pixel size (nothing is resized), and each tile is what the detector was trained on: an image of the
training size, scaled as part of the whole image (the per-image min-max is taken over the whole image first). Tiles
overlap by at least `overlap` pixels and are spread evenly. A detection belongs to the tile whose core holds its
centre, the core ending halfway across each overlap; with an overlap at least the size of the largest cell, each
cell lies wholly inside the tile that owns its centre, and a box cut off at a tile's edge has its centre beyond
that tile's core, so it is dropped there and found whole in the neighbour. No NMS merges the tiles: suppression is
the pipeline's own (the protocol's `nms_before_classification`, docs/defects.md#defect-16). An image no larger than
the training size is one tile: the whole image, as the evaluation ran it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..detect.predictions import ImageDetections
from ..errors import ConfigError

OVERLAP_FRACTION = 8  # the default overlap: an eighth of the tile (135 px at the release's 1080)


@dataclass(frozen=True)
class Span:
    """One tile's extent along an axis, [start, end), and its core [core_start, core_end)."""

    start: int
    end: int
    core_start: float
    core_end: float


@dataclass(frozen=True)
class Tile:
    x: Span
    y: Span

    def window(self, image: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(image[self.y.start : self.y.end, self.x.start : self.x.end])

    def owns(self, boxes: np.ndarray) -> np.ndarray:
        """Which image-coordinate boxes have their centre in this tile's core."""
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        inside_x = (cx >= self.x.core_start) & (cx < self.x.core_end)
        return inside_x & (cy >= self.y.core_start) & (cy < self.y.core_end)


def default_overlap(tile: tuple[int, int]) -> int:
    return min(tile) // OVERLAP_FRACTION


def spans(length: int, tile: int, overlap: int) -> list[Span]:
    """Evenly spread tiles of `tile` pixels covering [0, length), neighbours overlapping by at least `overlap`."""
    if length <= tile:
        return [Span(0, length, -math.inf, math.inf)]
    if not 0 <= overlap < tile:
        raise ConfigError(f"--tile-overlap {overlap}: expected at least 0 and less than the tile size {tile}")
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    starts = [round(i * (length - tile) / (count - 1)) for i in range(count)]
    # Each core boundary is the middle of the overlap of two neighbours.
    bounds = [-math.inf] + [(starts[i] + starts[i - 1] + tile) / 2 for i in range(1, count)] + [math.inf]
    return [Span(s, s + tile, bounds[i], bounds[i + 1]) for i, s in enumerate(starts)]


def tiles(width: int, height: int, tile: tuple[int, int], overlap: int) -> list[Tile]:
    """Row by row, the tiles of a `width` x `height` image; `tile` is (width, height) of the training images."""
    return [Tile(x, y) for y in spans(height, tile[1], overlap) for x in spans(width, tile[0], overlap)]


def merge(found: list[tuple[Tile, ImageDetections]], width: int, height: int) -> ImageDetections:
    """The image's detections from those of its tiles: shifted to image pixels, each kept by the tile that owns its
    centre, by descending score (ties in tile order) as the detector orders one image's."""
    boxes, scores = [], []
    for tile, detections in found:
        shifted = detections.boxes + np.array([tile.x.start, tile.y.start] * 2, dtype=np.float64)
        owned = tile.owns(shifted)
        boxes.append(shifted[owned])
        scores.append(detections.scores[owned])
    all_boxes = np.concatenate(boxes).reshape(-1, 4) if boxes else np.zeros((0, 4))
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    order = np.argsort(-all_scores, kind="stable")
    return ImageDetections(width, height, all_boxes[order], all_scores[order])
