"""A submitted detections file (`ctcbench.detections/1`, the format of `detect.predictions`), validated against the
images it must cover.

Every problem is collected and reported at once, each with its image id and field: an entry of an image that is not
in the scored split, a missing entry, an image given twice, an entry or a field of the wrong type, boxes and scores
of different lengths, a width or height other than the image's, a box of negative or zero size or with a corner more
than a pixel outside the image, a score that is not a finite number.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from ..data.layout import DatasetLayout
from ..data.voc import read_voc
from ..detect.predictions import FORMAT, ImageDetections, Predictions
from .validation import Problems, duplicates_of, is_finite_number, open_submission

WHAT = "detections file"
PER_IMAGE = 5  # problems reported per image and field before they are counted instead
EDGE_MARGIN = 1.0  # pixels a box corner may lie outside the image (see `_boxes`)


def image_sizes(layout: DatasetLayout, split: str, image_ids: list[str], annotator: str) -> dict[str, tuple[int, int]]:
    """(width, height) of every listed image: from its XML where that states it, else from its TIFF's header."""
    sizes = {}
    for image_id in image_ids:
        annotation = read_voc(layout.annotation_xml(split, image_id, annotator))
        if annotation.width and annotation.height:
            sizes[image_id] = (int(annotation.width), int(annotation.height))
        else:
            with tifffile.TiffFile(layout.brightfield(image_id)) as tiff:
                height, width = tiff.pages[0].shape[:2]
            sizes[image_id] = (int(width), int(height))
    return sizes


def _boxes(where: str, value: Any, size: tuple[int, int], problems: Problems) -> np.ndarray | None:
    if not isinstance(value, list) or not all(
        isinstance(box, list) and len(box) == 4 and all(is_finite_number(v) for v in box) for box in value
    ):
        problems.add(f"{where}.boxes", "must be a list of [x1, y1, x2, y2] lists of 4 finite numbers")
        return None
    boxes = np.asarray(value, dtype=np.float64).reshape(-1, 4)
    width, height = size
    flat = np.flatnonzero((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]))
    # Evaluation clips boxes to the image, as for the built-in detectors, whose boxes may overshoot by a pixel: only a
    # corner further out than that means boxes in another coordinate frame (another image size, or normalised).
    m = EDGE_MARGIN
    outside = np.flatnonzero(
        (boxes[:, 0] < -m) | (boxes[:, 1] < -m) | (boxes[:, 2] > width + m) | (boxes[:, 3] > height + m)
    )
    inside = f"every corner within {m} pixel of the {width} x {height} image"
    kinds = (
        ("negative or zero size (x2 <= x1 or y2 <= y1)", flat),
        (f"a corner outside the image ({inside})", outside),
    )
    for kind, indices in kinds:
        for index in indices[:PER_IMAGE]:
            problems.add(f"{where}.boxes[{index}]", f"{boxes[index].tolist()} has {kind}")
        if len(indices) > PER_IMAGE:
            problems.add(f"{where}.boxes", f"{len(indices) - PER_IMAGE} more boxes with {kind}")
    return boxes


def _scores(where: str, value: Any, problems: Problems) -> np.ndarray | None:
    if not isinstance(value, list):
        problems.add(f"{where}.scores", f"must be a list of numbers, not {type(value).__name__}")
        return None
    bad = [index for index, score in enumerate(value) if not is_finite_number(score)]
    for index in bad[:PER_IMAGE]:
        problems.add(f"{where}.scores[{index}]", f"{value[index]!r} is not a finite number")
    if len(bad) > PER_IMAGE:
        problems.add(f"{where}.scores", f"{len(bad) - PER_IMAGE} more scores that are not finite numbers")
    return None if bad else np.asarray(value, dtype=np.float64).reshape(-1)


def _entry(image_id: str, entry: Any, size: tuple[int, int], problems: Problems) -> ImageDetections | None:
    where = f"image {image_id}"
    if not isinstance(entry, dict):
        problems.add(where, f"must be an object with boxes and scores, not {type(entry).__name__}")
        return None
    for key in duplicates_of(entry):
        problems.add(f"{where}.{key}", "given twice")
    for key in ("width", "height"):
        stated, actual = entry.get(key), size[0] if key == "width" else size[1]
        if stated is not None and stated != actual:
            problems.add(f"{where}.{key}", f"{stated!r}, but the image's {key} is {actual}; boxes are in its pixels")
    missing = [key for key in ("boxes", "scores") if key not in entry]
    if missing:
        problems.add(where, f"no {' and no '.join(missing)}; an image without detections has empty lists")
        return None
    boxes, scores = _boxes(where, entry["boxes"], size, problems), _scores(where, entry["scores"], problems)
    if boxes is None or scores is None:
        return None
    if len(boxes) != len(scores):
        problems.add(where, f"{len(boxes)} boxes but {len(scores)} scores; one score per box")
        return None
    return ImageDetections(width=size[0], height=size[1], boxes=boxes, scores=scores)


def read_detections(path: Path | str, sizes: Mapping[str, tuple[int, int]]) -> Predictions:
    """The detections of every image in `sizes` (image id -> width, height), or a DatasetError listing every
    problem of the file."""
    path = Path(path)
    problems, data, images = open_submission(path, FORMAT, WHAT, "images", "image id")
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        problems.add("meta", f"must be an object (or left out), not {type(meta).__name__}")
    for image_id in duplicates_of(images):
        problems.add(f"image {image_id}", "given twice; give each image once")
    for image_id in images:
        if image_id not in sizes:
            problems.add(f"image {image_id}", "not an image of the scored split; remove it or correct its id")
    for image_id in sizes:
        if image_id not in images:
            problems.add(f"image {image_id}", "missing; give every image of the split, with empty lists if nothing "
                                              "was detected")  # fmt: skip
    parsed = {
        image_id: _entry(image_id, entry, sizes[image_id], problems)
        for image_id, entry in images.items()
        if image_id in sizes
    }
    problems.raise_if_any()
    return Predictions(meta=dict(meta), images={image_id: parsed[image_id] for image_id in sizes})
