"""Detection-stage metrics of a run (the "Detection stage" column of Table 4, docs/metrics.md#detection-stage).

The reference scores raw detector outputs through the same formatting and evaluation as the full pipeline:

1. per image, class-agnostic NMS at IoU `nms_iou` (torchvision's semantics: IoU without +1), then corners
   truncated to int, x1/y1 clipped at 0 and x2/y2 at the image width/height, boxes with non-positive area dropped;
2. per image, class-agnostic NMS at `nms_iou` again;
3. AP50 and best F1 of the pooled detections (`metrics`).

Beside the metrics, `detection_stage_evaluation` keeps what each image contributed (`image_matches`), so that the
numbers can be computed again on resampled images (docs/metrics.md#intervals).

Ground truth: the R boxes of the test annotator's XMLs (`int(float())`, no shift). The protocol's
`drop_undetected_ground_truth` keeps the original's defect of dropping the ground truth of images left without any
detection (docs/defects.md#defect-17); off, every ground-truth box counts. Per-patient numbers use the id prefix, as
the original's `-pid` filter did. The pipeline stage (`ctcbench.pipeline`) formats, matches and scores its fused
detections with these functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..data.crops import clip_box
from ..data.layout import DatasetLayout, patient_of
from ..data.voc import read_voc
from ..errors import ConfigError
from ..per_image import Evaluation
from ..protocol import Protocol
from .image_matches import ImageMatches
from .metrics import IOU_THRESHOLD, match, summarise, threshold_metrics
from .predictions import Predictions


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by class-agnostic NMS, in descending score order.

    The semantics of torchvision.ops.nms, which the original called (IoU without the +1 convention; a box is
    suppressed when its IoU with a kept box is above `iou`), in numpy so that evaluation needs no torch.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for position, index in enumerate(order):
        if suppressed[index]:
            continue
        keep.append(index)
        rest = order[position + 1 :]
        rest = rest[~suppressed[rest]]
        if len(rest) == 0:
            continue
        w = np.clip(np.minimum(boxes[index, 2], boxes[rest, 2]) - np.maximum(boxes[index, 0], boxes[rest, 0]), 0, None)
        h = np.clip(np.minimum(boxes[index, 3], boxes[rest, 3]) - np.maximum(boxes[index, 1], boxes[rest, 1]), 0, None)
        inter = w * h
        union = areas[index] + areas[rest] - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        suppressed[rest[overlap > iou]] = True
    return np.asarray(keep, dtype=np.int64)


def integer_boxes(boxes: np.ndarray, scores: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Corners truncated to int and clipped to the image; boxes left without area dropped (docs/dataset.md#cell-crops).

    The clipping is the crop cache's (`crops.clip_box`), so proposals, their crops and the evaluated boxes are
    cut by one rule.
    """
    kept, kept_scores = [], []
    for corners, score in zip(np.trunc(np.asarray(boxes, dtype=np.float64)).astype(np.int64).reshape(-1, 4), scores):
        clipped = clip_box(tuple(int(c) for c in corners), width, height)
        if clipped is not None:
            kept.append(clipped)
            kept_scores.append(score)
    return np.asarray(kept, dtype=np.int64).reshape(-1, 4), np.asarray(kept_scores, dtype=np.float64)


def format_detections(
    boxes: np.ndarray, scores: np.ndarray, width: int, height: int, nms_iou: float
) -> tuple[np.ndarray, np.ndarray]:
    """Step 1: NMS, then `integer_boxes` (as float corners)."""
    keep = nms(boxes, scores, nms_iou)
    ints, scores = integer_boxes(np.asarray(boxes)[keep], np.asarray(scores)[keep], width, height)
    return ints.astype(np.float64), scores


def ground_truth(
    layout: DatasetLayout, split: str, image_ids: list[str], annotator: str = "Unioned"
) -> dict[str, np.ndarray]:
    """R boxes of each image as `int(float())` corners, without any shift (docs/protocol.md#image-level-pipeline): the
    test annotator's XML for test images, the trainval XML otherwise."""
    truth = {}
    for image_id in image_ids:
        annotation = read_voc(layout.annotation_xml(split, image_id, annotator))
        boxes = [box.int_coords() for box in annotation.boxes_of("R")]
        truth[image_id] = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return truth


def prepare(predictions: Predictions, image_ids: list[str], nms_iou: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Steps 1 and 2 for every listed image, in list order (the order decides ties in the pooled ranking)."""
    prepared = {}
    for image_id in image_ids:
        entry = predictions.images.get(image_id)
        if entry is None:
            prepared[image_id] = (np.zeros((0, 4)), np.zeros(0))
            continue
        boxes, scores = format_detections(entry.boxes, entry.scores, entry.width, entry.height, nms_iou)
        keep = nms(boxes, scores, nms_iou)
        prepared[image_id] = (boxes[keep], scores[keep])
    return prepared


def counted_truth(
    detections: Mapping[str, tuple[np.ndarray, np.ndarray]], truth: Mapping[str, np.ndarray], protocol: Protocol
) -> Mapping[str, np.ndarray]:
    """The ground truth that counts under the protocol: without that of images left without any detection when it
    keeps the original's defect (docs/defects.md#defect-17)."""
    if not protocol.drop_undetected_ground_truth:
        return truth
    return {k: v for k, v in truth.items() if len(detections.get(k, ((), ()))[1]) > 0}


def score_images(
    detections: Mapping[str, tuple[np.ndarray, np.ndarray]],
    truth: Mapping[str, np.ndarray],
    protocol: Protocol,
    threshold: float | None = None,
) -> dict[str, Any]:
    """AP50 and best F1 of a set of images under the protocol's ground-truth rule; with `threshold` (one chosen on
    another split), also the F1, precision and recall at that threshold under `heldout`."""
    truth = counted_truth(detections, truth, protocol)
    curve = match(detections, truth, IOU_THRESHOLD, iou_pixel(protocol))
    result = summarise(curve, IOU_THRESHOLD)
    result["ap50"] = result.pop("ap")
    result["n_images"] = len(detections)
    if threshold is not None:
        result["heldout"] = threshold_metrics(curve, threshold).to_dict()
    return result


def image_level_metrics(
    detections: Mapping[str, tuple[np.ndarray, np.ndarray]],
    truth: Mapping[str, np.ndarray],
    image_ids: list[str],
    protocol: Protocol,
    threshold: float | None = None,
) -> dict[str, Any]:
    """`score_images` over all listed images, and under `per_patient` for each patient's images."""
    per_patient = {}
    for patient in sorted({patient_of(i) for i in image_ids}):
        ids = [i for i in image_ids if patient_of(i) == patient]
        per_patient[patient] = score_images(
            {i: detections[i] for i in ids}, {i: truth[i] for i in ids}, protocol, threshold
        )
    return {**score_images(detections, truth, protocol, threshold), "per_patient": per_patient}


def image_level_evaluation(
    detections: Mapping[str, tuple[np.ndarray, np.ndarray]],
    truth: Mapping[str, np.ndarray],
    image_ids: list[str],
    protocol: Protocol,
    threshold: float | None = None,
) -> tuple[dict[str, Any], ImageMatches]:
    """`image_level_metrics`, and the per-image matches they pool (`image_matches`)."""
    counted = counted_truth(detections, truth, protocol)
    curve = match(detections, counted, IOU_THRESHOLD, iou_pixel(protocol))
    matches = ImageMatches.from_curve(curve, detections, counted, threshold)
    return image_level_metrics(detections, truth, image_ids, protocol, threshold), matches


# The IoU's pixel term (metrics.voc_iou) -> how metrics.json names it.
IOU_CONVENTIONS = {1: "VOC +1 pixel", 0: "exact"}


def iou_pixel(protocol: Protocol) -> int:
    """The +1 of the VOC IoU convention, or 0 (the protocol's `iou_plus_one`, docs/defects.md#defect-18)."""
    return 1 if protocol.iou_plus_one else 0


def evaluation_choices(protocol: Protocol, annotator: str, nms_iou: float) -> dict[str, Any]:
    """The choices behind the numbers, recorded beside them in every metrics.json of the image level."""
    return {
        "protocol": protocol.name,
        "test_annotator": annotator,
        "nms_iou": nms_iou,
        "iou_convention": IOU_CONVENTIONS[iou_pixel(protocol)],
        "interpolation": "all-point",
        "ground_truth_of_images_without_detections": "dropped" if protocol.drop_undetected_ground_truth else "counted",
    }


VAL_SUMMARY_KEYS = ("ap50", "best_f1", "score_at_best_f1", "n_images", "n_ground_truth")


def val_threshold(
    detections: Mapping[str, tuple[np.ndarray, np.ndarray]],
    layout: DatasetLayout,
    val_ids: list[str],
    protocol: Protocol,
) -> tuple[float, dict[str, Any]]:
    """`f1_threshold`, only with the protocol's `image_threshold: heldout`: the original chose every threshold on the
    split it reported (docs/defects.md#defect-8)."""
    require_heldout(protocol)
    return f1_threshold(detections, layout, val_ids, protocol)


def require_heldout(protocol: Protocol) -> None:
    if not protocol.threshold_on_val:
        raise ConfigError(
            f"--protocol {protocol.name}: a threshold chosen on val needs image_threshold: heldout; drop the val inputs"
        )


def f1_threshold(
    detections: Mapping[str, tuple[np.ndarray, np.ndarray]],
    layout: DatasetLayout,
    val_ids: list[str],
    protocol: Protocol,
) -> tuple[float, dict[str, Any]]:
    """The score threshold of the best F1 on the val images (R boxes of their trainval XMLs), and its summary.

    No box on val leaves nothing to tune: an unreachable threshold then predicts nothing on test either.
    """
    summary = val_summary(detections, ground_truth(layout, "val", val_ids), protocol)
    threshold = summary["score_at_best_f1"]
    return (math.inf if threshold is None else threshold), summary


def val_summary(
    detections: Mapping[str, tuple[np.ndarray, np.ndarray]], truth: Mapping[str, np.ndarray], protocol: Protocol
) -> dict[str, Any]:
    """AP50, best F1 and counts of `prepare`d detections on the val images, scored as the test images are (the
    held-out threshold and the best_val checkpoint are chosen on it)."""
    record = score_images(detections, truth, protocol)
    return {k: record[k] for k in VAL_SUMMARY_KEYS}


ORACLE_CHOICE = "oracle: best F1 on the test curve itself (as the original)"
HELDOUT_CHOICE = "; heldout: the threshold of the best F1 on val, applied to test"


def detection_stage_metrics(
    predictions: Predictions,
    layout: DatasetLayout,
    image_ids: list[str],
    annotator: str,
    protocol: Protocol,
    nms_iou: float = 0.5,
    val: tuple[Predictions, list[str]] | None = None,
) -> dict[str, Any]:
    """AP50 and best F1 over all listed images and per patient, with the choices that produced them; with `val`
    (the same model's predictions on the val images), also the F1 at the threshold chosen there (`heldout`)."""
    return detection_stage_evaluation(predictions, layout, image_ids, annotator, protocol, nms_iou, val).metrics


def detection_stage_evaluation(
    predictions: Predictions,
    layout: DatasetLayout,
    image_ids: list[str],
    annotator: str,
    protocol: Protocol,
    nms_iou: float = 0.5,
    val: tuple[Predictions, list[str]] | None = None,
) -> Evaluation:
    """`detection_stage_metrics` and the per-image matches they pool."""
    detections = prepare(predictions, image_ids, nms_iou)
    truth = ground_truth(layout, "test", image_ids, annotator)
    threshold, val_record = None, None
    if val is not None:
        val_predictions, val_ids = val
        if val_predictions.meta.get("model_sha256") != predictions.meta.get("model_sha256"):
            raise ConfigError("val predictions come from another model than the test predictions; predict again")
        threshold, val_record = val_threshold(prepare(val_predictions, val_ids, nms_iou), layout, val_ids, protocol)
    numbers, matches = image_level_evaluation(detections, truth, image_ids, protocol, threshold)
    metrics = {
        **numbers,
        **evaluation_choices(protocol, annotator, nms_iou),
        "run": predictions.meta.get("run"),
        "threshold_choice": ORACLE_CHOICE + (HELDOUT_CHOICE if val is not None else ""),
    }
    if val_record is not None:
        metrics["val"] = val_record
    return Evaluation(metrics, matches)
