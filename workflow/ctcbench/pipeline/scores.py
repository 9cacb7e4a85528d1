"""The scores.json format: every proposal of every image with its detector and classifier scores.

    {
      "format": "ctcbench.pipeline-scores/1",
      "meta": {"detector": {<predictions.json meta>}, "classifier": {"path", "sha256", "backbone", "setting",
               "trainset", "seed", ...}, "protocol": ..., "nms_iou_before_classification": 0.5 | null, ...},
      "images": {
        "r06c04f03p01": {"width": 1080, "height": 1080, "boxes": [[x1, y1, x2, y2], ...],
                         "s_det": [0.97, ...], "s_cls": [0.88, ...]},
        ...
      }
    }

Boxes are the integer proposals (`proposals`); s_cls is the classifier's P(R). Every image of the list has an
entry, with empty lists when it has no proposal, so the evaluation can tell "no boxes" from "not scored". Scores
are kept apart from fusion so that every ω is evaluated from one classifier pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_write_json, read_versioned_json
from .proposals import ImageProposals

FORMAT = "ctcbench.pipeline-scores/1"


@dataclass
class ScoredImage(ImageProposals):
    s_cls: np.ndarray  # N classifier scores, P(R)

    def to_json(self) -> dict[str, Any]:
        return {
            "width": int(self.width),
            "height": int(self.height),
            "boxes": [[int(v) for v in box] for box in self.boxes],
            "s_det": [float(s) for s in self.s_det],
            "s_cls": [float(s) for s in self.s_cls],
        }


@dataclass
class Scores:
    meta: dict[str, Any]
    images: dict[str, ScoredImage]


def write_scores(path: Path | str, scores: Scores) -> None:
    atomic_write_json(
        path, {"format": FORMAT, "meta": scores.meta, "images": {k: v.to_json() for k, v in scores.images.items()}}
    )


def read_scores(path: Path | str) -> Scores:
    data = read_versioned_json(path, FORMAT, "proposal scores", "score the proposals (`ctcbench pipeline-score`)")
    images = {
        image_id: ScoredImage(
            width=entry["width"],
            height=entry["height"],
            boxes=np.asarray(entry["boxes"], dtype=np.int64).reshape(-1, 4),
            s_det=np.asarray(entry["s_det"], dtype=np.float64),
            s_cls=np.asarray(entry["s_cls"], dtype=np.float64),
        )
        for image_id, entry in data["images"].items()
    }
    return Scores(meta=data.get("meta", {}), images=images)
