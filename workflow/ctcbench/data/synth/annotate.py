"""Annotations of a rendered field: R/G/U boxes for train/val, and for test two experts and their NMS union.

Test protocol (docs/dataset.md#test-annotations): only cancer (R) cells are annotated, by two annotators; their boxes
are merged by NMS and where they overlap the more experienced annotator's box is kept. Here each expert sees every true
cancer cell except their own misses (more often for weakly stained cells, which are harder to spot) and draws its box
with a few pixels of jitter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..voc import Box, VocAnnotation
from .cells import Cell, box_iou

IntBox = tuple[int, int, int, int]
UNION_IOU = 0.5
# Extra chance of missing a weakly stained cell (stain level below DIM_LEVEL; the median level is 1).
DIM_LEVEL = 0.45
DIM_MISS_BONUS = 0.25


def priority_nms(groups: Sequence[Sequence[IntBox]], threshold: float = UNION_IOU) -> list[IntBox]:
    """Greedy NMS where earlier groups win: a box is kept unless it overlaps a kept box by IoU > threshold.

    Annotator boxes carry no scores, so priority (the more experienced annotator first) plays the role of the
    score order of ordinary NMS.
    """
    kept: list[IntBox] = []
    for group in groups:
        for box in group:
            if all(box_iou(box, other) <= threshold for other in kept):
                kept.append(box)
    return kept


def voc(image_id: str, size: int, boxes: Sequence[IntBox], labels: Sequence[str]) -> VocAnnotation:
    return VocAnnotation(
        filename=f"{image_id}.tiff",
        width=size,
        height=size,
        depth=3,
        objects=[Box(name=label, xmin=b[0], ymin=b[1], xmax=b[2], ymax=b[3]) for b, label in zip(boxes, labels)],
    )


def _jitter(rng: np.random.Generator, box: IntBox, sigma: float, size: int) -> IntBox:
    moved = np.rint(np.asarray(box, dtype=float) + rng.normal(0.0, sigma, size=4)).astype(int)
    xmin, ymin, xmax, ymax = (int(v) for v in np.clip(moved, 0, size))
    if xmax <= xmin or ymax <= ymin:  # jitter collapsed a tiny box: keep the true one
        return box
    return xmin, ymin, xmax, ymax


def expert_boxes(
    rng: np.random.Generator,
    cells: Sequence[Cell],
    boxes: Sequence[IntBox],
    miss_rate: float,
    jitter_px: float,
    size: int,
) -> list[IntBox]:
    """What one expert annotates on a test image: the cancer cells they noticed, with jittered boxes."""
    drawn = []
    for cell, box in zip(cells, boxes):
        if cell.label != "R":
            continue
        p_miss = miss_rate + (DIM_MISS_BONUS if cell.red < DIM_LEVEL else 0.0)
        missed = rng.random() < p_miss
        jittered = _jitter(rng, box, jitter_px, size)
        if not missed:
            drawn.append(jittered)
    return drawn
