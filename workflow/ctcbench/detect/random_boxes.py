"""Random boxes: the chance level of the image-level metrics, a control (docs/metrics.md#controls).

Per image, as many boxes as its ground truth has cancer (R) boxes, each box the size of one of them (the sizes are
the ground truth's own multiset), at a position drawn uniformly among those that keep the box inside the image, with
a score drawn uniformly from [0, 1). It is what a method reaches that knows how many cancer cells each image holds
and how large they are, but not where they are. The draws are scored by the detection stage's own evaluation
(`evaluate.detection_stage_evaluation`: formatting, NMS, matching, AP50, best F1, per-image records); under
`image_threshold: heldout` the val images get draws of their own, on which the threshold is chosen as for a detector.

A draw depends on its seed and the image id alone (each image has its own generator), so it does not change with
the order or the length of the image list.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping

import numpy as np

from ..data.imageio import image_size
from ..data.layout import DatasetLayout
from ..per_image import Evaluation
from ..plan.controls import ANY_SETTING, RANDOM_BOXES
from ..plan.runs import ControlRun
from ..protocol import Protocol
from .evaluate import detection_stage_evaluation, ground_truth
from .predictions import ImageDetections, Predictions

SCORE = "uniform on [0, 1)"
POSITION = "uniform over the positions that keep the box inside the image"


def image_generator(seed: int, image_id: str) -> np.random.Generator:
    """The generator of one image's draw: the seed and a checksum of the image id."""
    return np.random.default_rng([seed, zlib.crc32(image_id.encode())])


def draw_boxes(truth: np.ndarray, width: int, height: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N x 4, x1 y1 x2 y2, whole pixels) the sizes of the N ground-truth boxes, placed at random inside a
    width x height image, and their random scores. A size larger than the image is cut to it."""
    truth = np.asarray(truth, dtype=np.int64).reshape(-1, 4)
    sizes = np.clip(truth[:, 2:] - truth[:, :2], 0, [width, height])
    corners = rng.integers(0, [width, height] - sizes + 1, size=sizes.shape) if len(sizes) else sizes
    scores = rng.random(len(sizes))
    return np.hstack([corners, corners + sizes]).astype(np.float64), scores


def random_predictions(
    truth: Mapping[str, np.ndarray], sizes: Mapping[str, tuple[int, int]], seed: int, run: ControlRun
) -> Predictions:
    """One draw on every image of `truth` (image id -> its R boxes), in the predictions.json format; `sizes` gives
    each image's (width, height)."""
    images = {}
    for image_id, boxes in truth.items():
        width, height = sizes[image_id]
        drawn, scores = draw_boxes(boxes, width, height, image_generator(seed, image_id))
        images[image_id] = ImageDetections(width, height, drawn, scores)
    identity = f"{RANDOM_BOXES} seed {seed}: {POSITION}; scores {SCORE}"
    meta = {"run": run.name, "detector": RANDOM_BOXES, "seed": seed, "position": POSITION, "score": SCORE,
            "model_sha256": hashlib.sha256(identity.encode()).hexdigest()}  # fmt: skip
    return Predictions(meta=meta, images=images)


def image_sizes(layout: DatasetLayout, image_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(width, height) of each image, from its brightfield file's header."""
    return {image_id: image_size(layout.brightfield(image_id)) for image_id in image_ids}


def random_boxes_evaluation(
    layout: DatasetLayout,
    image_ids: list[str],
    seed: int,
    protocol: Protocol,
    *,
    annotator: str = "Unioned",
    nms_iou: float = 0.5,
    val_ids: list[str] | None = None,
) -> Evaluation:
    """The draw of `seed` on the test images, evaluated as a detector's predictions; with `val_ids` (a held-out
    threshold), a draw on the val images chooses the threshold. Its metrics name the control run (`control`)."""
    run = ControlRun(RANDOM_BOXES, ANY_SETTING, seed)

    def draw(split: str, ids: list[str]) -> Predictions:
        return random_predictions(ground_truth(layout, split, ids, annotator), image_sizes(layout, ids), seed, run)

    val = None if val_ids is None else (draw("val", val_ids), val_ids)
    evaluation = detection_stage_evaluation(draw("test", image_ids), layout, image_ids, annotator, protocol, nms_iou,
                                            val)  # fmt: skip
    metrics = {**evaluation.metrics, "control": run.name, "position": POSITION, "score": SCORE}
    return Evaluation(metrics, evaluation.per_image)
