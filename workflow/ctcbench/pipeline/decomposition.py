"""The error decomposition of the image-level pipeline (docs/metrics.md#error-decomposition): does detection or
classification limit a pairing?

Each stage in turn is replaced by a perfect one, and the result scored with the pipeline's own evaluation at ω = 1:

* **oracle classifier** (`oracle_scores`): the detector's proposals (scores.json) with S_cls = 1 for a proposal the
  evaluation matches to a ground-truth R box (IoU ≥ 0.5 under the protocol's IoU convention) and 0 otherwise,
  background and duplicates of a matched proposal alike (the evaluation counts a duplicate a false positive): what
  the detector allows, the best any re-scoring of its proposals can reach. Its recall is the detector's recall
  ceiling (`recall_ceiling`), the share of R boxes some proposal reaches, and its AP50 equals it (unless cells lie
  so close that the only proposals reaching one match another better, or NMS after fusion removes one of two
  overlapping matched proposals).
* **perfect localisation** (`localised_scores`): the test annotations hold only R boxes, so "the ground-truth boxes
  scored by the classifier" alone would be trivially perfect; instead the proposals are the ground-truth R boxes
  (`truth_proposals`) and the detector's proposals that reach none of them, the negatives the classifier must still
  reject, each scored by the real classifier: what the classifier allows.

Both fuse every box, without the protocol's fusion gate (docs/defects.md#defect-15): at ω = 1 the score is S_cls
alone, so that a perfect classifier is not overruled by S_det below the gate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.layout import patient_of
from ..detect.evaluate import (
    ORACLE_CHOICE,
    counted_truth,
    evaluation_choices,
    image_level_evaluation,
    integer_boxes,
    iou_pixel,
)
from ..detect.metrics import IOU_THRESHOLD, match, voc_iou
from ..errors import ConfigError
from ..per_image import Evaluation
from ..plan.runs import ORACLE_CLASSIFIER, PERFECT_LOCALISATION
from ..protocol import Protocol, same_protocol
from .evaluate import fused_detections
from .proposals import ImageProposals
from .scores import ScoredImage, Scores

OMEGA = 1.0  # the classifier's score alone
GROUND_TRUTH_S_DET = 1.0  # a ground-truth box's S_det in the perfect localisation's scores (unused at ω = 1)


def reaches(boxes: np.ndarray, truth: np.ndarray, protocol: Protocol) -> np.ndarray:
    """Per box, whether it reaches some ground-truth box at the evaluation's IoU threshold and convention."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(truth) == 0:
        return np.zeros(len(boxes), dtype=bool)
    return np.array([voc_iou(box, truth, iou_pixel(protocol)).max() >= IOU_THRESHOLD for box in boxes], dtype=bool)


def matched(boxes: np.ndarray, s_det: np.ndarray, truth: np.ndarray, protocol: Protocol) -> np.ndarray:
    """Per box, whether the evaluation's greedy matching (`detect.metrics.match`, in the detector's order) makes it the
    true positive of an R box; a duplicate of a matched box is a false positive and is not."""
    curve = match({"image": (boxes, s_det)}, {"image": truth}, IOU_THRESHOLD, iou_pixel(protocol))
    flags = np.zeros(len(s_det), dtype=bool)
    flags[curve.order[curve.true_positive]] = True
    return flags


def oracle_scores(scores: Scores, truth: dict[str, np.ndarray], protocol: Protocol) -> Scores:
    """The proposals of `scores` with a perfect classifier's S_cls: 1 for each proposal the evaluation matches to an
    R box, 0 for every other (background and duplicates): the best any re-scoring of these proposals can rank."""
    images = {
        image_id: ScoredImage(
            **{**vars(entry), "s_cls": matched(entry.boxes, entry.s_det, truth[image_id], protocol).astype(float)}
        )
        for image_id, entry in scores.images.items()
        if image_id in truth
    }
    return Scores({**scores.meta, "decomposition": ORACLE_CLASSIFIER}, images)


def recall_ceiling(scores: Scores, truth: dict[str, np.ndarray], image_ids: list[str], protocol: Protocol) -> float:
    """The share of the counted ground-truth boxes of the images that some proposal reaches (the ground truth of an
    image without proposals is not counted where the protocol drops it, docs/defects.md#defect-17)."""
    proposals = {i: (scores.images[i].boxes, scores.images[i].s_det) for i in image_ids}
    counted = counted_truth(proposals, {i: truth[i] for i in image_ids}, protocol)
    reached = sum(int(reaches(gt, proposals[i][0], protocol).sum()) for i, gt in counted.items())
    total = sum(len(gt) for gt in counted.values())
    return reached / total if total else 0.0


def truth_proposals(scores: Scores, truth: dict[str, np.ndarray]) -> dict[str, ImageProposals]:
    """The ground-truth R boxes of every image as proposals: corners clipped to the image as the detector's are, so
    that their crops are cut as the pipeline cuts a proposal's (`proposals.proposal_crops`)."""
    proposals = {}
    for image_id, entry in scores.images.items():
        if image_id not in truth:
            continue
        boxes, s_det = integer_boxes(truth[image_id], np.full(len(truth[image_id]), GROUND_TRUTH_S_DET),
                                     entry.width, entry.height)  # fmt: skip
        proposals[image_id] = ImageProposals(entry.width, entry.height, boxes, s_det)
    return proposals


def localised_scores(
    scores: Scores, truth: dict[str, np.ndarray], scored_truth: dict[str, ScoredImage], protocol: Protocol
) -> Scores:
    """Per image, the ground-truth boxes scored by the classifier (`truth_proposals` through it) first, then the
    detector's proposals that reach no ground-truth box with their own S_det and S_cls. Ties of S_cls rank the
    ground-truth boxes first, as the upper bound this is."""
    images = {}
    for image_id, found in scored_truth.items():
        entry = scores.images[image_id]
        missed = ~reaches(entry.boxes, truth[image_id], protocol)
        images[image_id] = ScoredImage(
            width=entry.width,
            height=entry.height,
            boxes=np.concatenate([found.boxes, entry.boxes[missed]]).astype(np.int64).reshape(-1, 4),
            s_det=np.concatenate([found.s_det, entry.s_det[missed]]),
            s_cls=np.concatenate([found.s_cls, entry.s_cls[missed]]),
        )
    n_truth = int(sum(len(v.boxes) for v in scored_truth.values()))
    meta = {**scores.meta, "decomposition": PERFECT_LOCALISATION, "n_ground_truth_boxes": n_truth,
            "n_proposals": int(sum(len(v.boxes) for v in images.values()))}  # fmt: skip
    return Scores(meta, images)


def decomposition_evaluation(
    scores: Scores,
    truth: dict[str, np.ndarray],
    image_ids: list[str],
    *,
    protocol: Protocol,
    nms_iou: float = 0.5,
    annotator: str = "Unioned",
    source: str = "scores",
) -> Evaluation:
    """metrics.json of a stand-in (`oracle_scores` or `localised_scores`) and its per-image matches: fused at ω = 1
    without the gate, suppressed and scored as `pipeline.evaluate` scores the pairing."""
    kind = scores.meta.get("decomposition")
    if kind not in (ORACLE_CLASSIFIER, PERFECT_LOCALISATION):
        raise ConfigError(f"{source}: not an error decomposition's scores ({kind!r})")
    if not same_protocol(scores.meta.get("protocol"), protocol):
        raise ConfigError(f"{source}: scored with protocol {scores.meta.get('protocol')!r}, not {protocol.name}")
    detections = fused_detections(scores, image_ids, OMEGA, None, nms_iou, source)
    numbers, matches = image_level_evaluation(detections, truth, image_ids, protocol)
    detector = scores.meta.get("detector", {})
    metrics: dict[str, Any] = {
        **numbers,
        **evaluation_choices(protocol, annotator, nms_iou),
        "decomposition": kind,
        "pipeline_run": scores.meta.get("pipeline_run"),
        "run": detector.get("run"),
        "omega": OMEGA,
        "gate": None,
        "nms_iou_before_classification": scores.meta.get("nms_iou_before_classification"),
        "detector": {k: detector.get(k) for k in ("run", "detector", "setting", "trainset", "seed")},
        "classifier": scores.meta.get("classifier"),
        "threshold_choice": ORACLE_CHOICE,
    }
    if kind == PERFECT_LOCALISATION:
        metrics["n_ground_truth_boxes_scored"] = scores.meta.get("n_ground_truth_boxes")
    return Evaluation(metrics, matches)


def with_recall_ceiling(
    metrics: dict[str, Any], scores: Scores, truth: dict[str, np.ndarray], image_ids: list[str], protocol: Protocol
) -> dict[str, Any]:
    """The oracle's metrics with the detector's recall ceiling beside them, overall and per patient."""
    metrics = {**metrics, "recall_ceiling": recall_ceiling(scores, truth, image_ids, protocol)}
    for patient, numbers in metrics.get("per_patient", {}).items():
        ids = [i for i in image_ids if patient_of(i) == patient]
        numbers["recall_ceiling"] = recall_ceiling(scores, truth, ids, protocol)
    return metrics
