"""The predictions.json format: detections keyed by image id, in pixel coordinates of the original image.

The original matched its result pickle to image ids by line position in test.txt (docs/defects.md#defect-19); here
every image's detections are stored under its id, so reordering the test list cannot mismatch them.

    {
      "format": "ctcbench.detections/1",
      "meta": {"run": ..., "detector": ..., "setting": ..., "trainset": ..., "seed": ..., "protocol": ...,
               "box_convention": ..., "box_shift": ..., "model_sha256": ..., "test_list_sha256": ..., ...},
      "images": {
        "r06c04f03p01": {"width": 1080, "height": 1080,
                         "boxes": [[x1, y1, x2, y2], ...], "scores": [0.97, ...]},
        ...
      }
    }

Boxes are x1, y1, x2, y2 floats in 0-based pixel coordinates of the original (unresized) image, as the detector
returns them (sorted by descending score; no NMS beyond the detector's own); one entry per test image, also
when it has no detections. A model trained with `box_shift` -1 (faithful) predicts corners shifted by that pixel;
they are stored as predicted, because the original evaluation compared them unshifted to the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_write_json, read_versioned_json

FORMAT = "ctcbench.detections/1"
BOX_CONVENTION = "x1 y1 x2 y2, 0-based pixel coordinates of the original image"


@dataclass
class ImageDetections:
    width: int
    height: int
    boxes: np.ndarray  # N x 4 float
    scores: np.ndarray  # N

    def to_json(self) -> dict[str, Any]:
        return {
            "width": int(self.width),
            "height": int(self.height),
            "boxes": [[round(float(v), 3) for v in box] for box in self.boxes],
            "scores": [float(s) for s in self.scores],
        }

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> ImageDetections:
        return cls(
            width=entry["width"],
            height=entry["height"],
            boxes=np.asarray(entry["boxes"], dtype=np.float64).reshape(-1, 4),
            scores=np.asarray(entry["scores"], dtype=np.float64).reshape(-1),
        )

    def as_stored(self) -> ImageDetections:
        """These detections as predictions.json holds them (boxes rounded to 1/1000 pixel): what the pipeline
        evaluation reads back, so that detections made in memory go through the pipeline as its own did."""
        return ImageDetections.from_json(self.to_json())


@dataclass
class Predictions:
    meta: dict[str, Any]
    images: dict[str, ImageDetections] = field(default_factory=dict)

    def as_arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {k: (v.boxes, v.scores) for k, v in self.images.items()}


def write_predictions(path: Path | str, predictions: Predictions) -> None:
    atomic_write_json(
        path,
        {
            "format": FORMAT,
            "meta": {**predictions.meta, "box_convention": BOX_CONVENTION},
            "images": {k: v.to_json() for k, v in predictions.images.items()},
        },
    )


def read_predictions(path: Path | str) -> Predictions:
    remedy = (
        "make it with `ctcbench detect-predict` (rule detect_predict); detections made elsewhere are scored with "
        "`ctcbench score`, which checks every field (docs/extending.md#external-methods)"
    )
    data = read_versioned_json(path, FORMAT, "predictions", remedy)
    images = {image_id: ImageDetections.from_json(entry) for image_id, entry in data["images"].items()}
    return Predictions(meta=data.get("meta", {}), images=images)
