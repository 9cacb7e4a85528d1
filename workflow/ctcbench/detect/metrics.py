"""One-class detection metrics of the reference evaluator (docs/metrics.md#image-level): AP50 and best F1.

The original is "one-class AP evaluation" adapted from Cartucho/mAP. Re-implemented here on plain arrays, with
no mmdet import, because the pipeline stage scores fused detections with the same code:

* IoU with the VOC "+1 pixel" convention of the original (width = x2 - x1 + 1, height = y2 - y1 + 1), or exact
  (width = x2 - x1) for boxes whose x2/y2 are exclusive ends, by the protocol's `iou_plus_one`
  (docs/defects.md#defect-18).
* All predictions of all images are pooled and sorted by score, descending; the sort is stable, so ties keep
  the order in which images and boxes were given.
* Greedy matching: each prediction takes the ground truth of its image with the highest IoU; it is a true
  positive when that IoU is >= the threshold and that ground truth is still unused (which it then marks used),
  otherwise a false positive, duplicates included. `difficult` is not used.
* AP: all-point (VOC2010+) interpolation of the cumulative precision/recall curve, not 11-point.
* Best F1: the maximum of 2PR/(P+R) over all points of that curve (an oracle threshold on the evaluated set).
* F1 at a given threshold (`threshold_metrics`): the honest counterpart, for a threshold chosen on another split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

IOU_THRESHOLD = 0.5


def voc_iou(box: np.ndarray, boxes: np.ndarray, pixel: int = 1) -> np.ndarray:
    """IoU of one box with each of `boxes` (N x 4, x1 y1 x2 y2); `pixel` 1 is the VOC +1 pixel convention (x2, y2
    inclusive), 0 the exact one (x2, y2 exclusive)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros(0)
    box = np.asarray(box, dtype=np.float64)
    iw = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]) + pixel
    ih = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]) + pixel
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    area = (box[2] - box[0] + pixel) * (box[3] - box[1] + pixel)
    areas = (boxes[:, 2] - boxes[:, 0] + pixel) * (boxes[:, 3] - boxes[:, 1] + pixel)
    return inter / (area + areas - inter)


@dataclass(frozen=True)
class PRCurve:
    """Cumulative precision/recall after each prediction, in descending score order."""

    scores: np.ndarray
    true_positive: np.ndarray  # bool per prediction
    precision: np.ndarray
    recall: np.ndarray
    n_ground_truth: int
    order: np.ndarray  # per prediction: its position among the pooled predictions as given
    best_iou: np.ndarray  # per prediction: highest VOC IoU with a ground-truth box of its image (0 without any)
    matched_truth: np.ndarray  # per prediction: index of the ground-truth box it took in its image, -1 if none

    @property
    def n_predictions(self) -> int:
        return len(self.scores)


def match(
    predictions: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ground_truth: Mapping[str, np.ndarray],
    iou_threshold: float = IOU_THRESHOLD,
    pixel: int = 1,
) -> PRCurve:
    """Pool `predictions` (image id -> (boxes N x 4, scores N)) and match them greedily to `ground_truth`
    (image id -> boxes M x 4), IoU by `voc_iou` with `pixel`. Every ground-truth box counts towards recall, also in
    images without predictions."""
    image_ids: list[str] = []
    boxes: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for image_id, (image_boxes, image_scores) in predictions.items():
        image_boxes = np.asarray(image_boxes, dtype=np.float64).reshape(-1, 4)
        image_scores = np.asarray(image_scores, dtype=np.float64).reshape(-1)
        if len(image_boxes) != len(image_scores):
            raise ValueError(f"{image_id}: {len(image_boxes)} boxes but {len(image_scores)} scores")
        image_ids += [image_id] * len(image_boxes)
        boxes.append(image_boxes)
        scores.append(image_scores)
    all_boxes = np.concatenate(boxes) if boxes else np.zeros((0, 4))
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    order = np.argsort(-all_scores, kind="stable")
    gts = {k: np.asarray(v, dtype=np.float64).reshape(-1, 4) for k, v in ground_truth.items()}
    used = {k: np.zeros(len(v), dtype=bool) for k, v in gts.items()}
    n_gt = sum(len(v) for v in gts.values())
    tp = np.zeros(len(order), dtype=bool)
    best_iou = np.zeros(len(order))
    matched_truth = np.full(len(order), -1, dtype=np.int64)
    for rank, index in enumerate(order):
        image_gt = gts.get(image_ids[index])
        if image_gt is None or len(image_gt) == 0:
            continue
        ious = voc_iou(all_boxes[index], image_gt, pixel)
        best = int(np.argmax(ious))
        best_iou[rank] = ious[best]
        if ious[best] >= iou_threshold and not used[image_ids[index]][best]:
            tp[rank] = True
            matched_truth[rank] = best
            used[image_ids[index]][best] = True
    precision, recall = cumulative_pr(tp, n_gt)
    return PRCurve(all_scores[order], tp, precision, recall, n_gt, order, best_iou, matched_truth)


def cumulative_pr(true_positive: np.ndarray, n_ground_truth: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall after each prediction of a ranking, from its true-positive flags in score order."""
    cum_tp = np.cumsum(true_positive)
    cum_fp = np.cumsum(~true_positive)
    precision = cum_tp / np.maximum(cum_tp + cum_fp, 1)
    recall = cum_tp / n_ground_truth if n_ground_truth else np.zeros(len(true_positive))
    return precision, recall


def average_precision(recall: Sequence[float], precision: Sequence[float]) -> float:
    """All-point interpolated AP (VOC2010+): the area under the precision envelope of the PR curve."""
    mrec = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    mpre = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    changed = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[changed] - mrec[changed - 1]) * mpre[changed]))


@dataclass(frozen=True)
class OperatingPoint:
    """F1, precision and recall of the predictions with score >= `score`."""

    f1: float
    precision: float
    recall: float
    score: float | None  # the threshold; None when there is none (no predictions)

    def to_dict(self) -> dict[str, float | None]:
        # An unreachable threshold (inf: nothing to predict) is not valid JSON; it is written as null.
        finite = self.score is not None and np.isfinite(self.score)
        return {
            "threshold": float(self.score) if finite else None,
            "f1": self.f1,
            "precision": self.precision,
            "recall": self.recall,
        }


def f1_score(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """2PR / (P + R) elementwise, 0 where P + R is 0."""
    denom = precision + recall
    return np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)


def best_f1(curve: PRCurve) -> OperatingPoint:
    """Maximum F1 over the PR curve, at the score of the prediction that reaches it; the first maximum wins on ties."""
    if curve.n_predictions == 0:
        return OperatingPoint(0.0, 0.0, 0.0, None)
    f1 = f1_score(curve.precision, curve.recall)
    i = int(np.argmax(f1))
    return OperatingPoint(float(f1[i]), float(curve.precision[i]), float(curve.recall[i]), float(curve.scores[i]))


def threshold_metrics(curve: PRCurve, threshold: float) -> OperatingPoint:
    """F1, precision and recall of the predictions with score >= `threshold`: a threshold chosen elsewhere (on
    val, say) applied to this curve. The curve is sorted by descending score, so they are a prefix of it."""
    kept = int(np.count_nonzero(curve.scores >= threshold))
    tp = int(curve.true_positive[:kept].sum())
    precision = tp / kept if kept else 0.0
    recall = tp / curve.n_ground_truth if curve.n_ground_truth else 0.0
    f1 = f1_score(np.asarray(precision), np.asarray(recall))
    return OperatingPoint(float(f1), precision, recall, float(threshold))


def summarise(curve: PRCurve, iou_threshold: float = IOU_THRESHOLD) -> dict[str, float | int | None]:
    """AP and best F1 (with its precision, recall and score threshold) of a matched PR curve."""
    f1 = best_f1(curve)
    return {
        "ap": average_precision(curve.recall, curve.precision),
        "iou_threshold": iou_threshold,
        "best_f1": f1.f1,
        "precision_at_best_f1": f1.precision,
        "recall_at_best_f1": f1.recall,
        "score_at_best_f1": f1.score,
        "n_ground_truth": curve.n_ground_truth,
        "n_predictions": curve.n_predictions,
        "n_true_positive": int(curve.true_positive.sum()),
    }


def evaluate(
    predictions: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ground_truth: Mapping[str, np.ndarray],
    iou_threshold: float = IOU_THRESHOLD,
) -> dict[str, float | int | None]:
    """AP at `iou_threshold` and best F1 of a set of images (`match`, then `summarise`)."""
    return summarise(match(predictions, ground_truth, iou_threshold), iou_threshold)
