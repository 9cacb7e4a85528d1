"""What each test image contributed to an image-level evaluation (docs/metrics.md#intervals).

`metrics.match` pools the predictions of all images but matches each one only within its own image, so an image's
true positives do not depend on the other images. Kept per image: its predictions' scores and match flags, in the
order they were pooled, and its ground-truth count under the protocol's rule (an image whose ground truth the
faithful protocol drops counts 0). Pooled again, they give AP50, best F1 and the F1 at the val-chosen threshold of
any multiset of the images, a multiset being a weight per image (how often it is drawn):

* `metrics(weights)` materialises the multiset (each prediction repeated by its image's weight, copies next to each
  other in the ranking) and scores it with the evaluation's own functions; all weights 1 give the metrics.json
  values bit for bit, and weight 0 leaves an image out (one patient's numbers).
* `resampled(counts)` gives the same numbers for many multisets at once (a bootstrap), without materialising them.
  Every quantity AP and best F1 need is reached at a true positive of the original ranking: recall moves only
  there, precision rises only there (a false positive lowers it), and so does F1. So only the true positives are
  kept, each with how many predictions and true positives of every image rank at or above it; for a multiset these
  are weighted sums (a matrix product), and the copies of a true positive make one step of the curve whose
  interpolated precision is that of its last copy, as in the materialised ranking.

The val-chosen threshold is a property of the run, fixed before the test images are seen: it is not chosen again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..data.layout import patient_of
from ..per_image import read_arrays
from .metrics import PRCurve, cumulative_pr, f1_score, summarise, threshold_metrics

FORMAT = "ctcbench.image_matches/1"
# The numbers `resampled` gives, under the long results table's metric names (report.results.IMAGE_METRICS).
BEST_F1_METRICS = ("ap50", "f1", "precision", "recall")
HELDOUT_METRICS = ("f1_heldout", "precision_heldout", "recall_heldout")
CELLS_PER_CHUNK = 2_000_000  # resamples x true positives held at once by `resampled`


@dataclass(frozen=True)
class ImageMatches:
    FORMAT: ClassVar[str] = FORMAT

    images: np.ndarray  # image ids, in the evaluation's order
    image_patients: np.ndarray
    n_ground_truth: np.ndarray  # per image, under the protocol's ground-truth rule
    n_predictions: np.ndarray  # per image
    scores: np.ndarray  # float64 per prediction, image after image, each image's in the order they were pooled
    true_positive: np.ndarray  # bool per prediction
    heldout_threshold: float  # the threshold chosen on val (inf: none reachable); NaN: none was chosen

    @classmethod
    def from_curve(
        cls,
        curve: PRCurve,
        detections: Mapping[str, tuple[np.ndarray, np.ndarray]],
        truth: Mapping[str, np.ndarray],
        threshold: float | None,
    ) -> ImageMatches:
        """The records of a `match` of `detections` (image id -> (boxes, scores)) against `truth` (the ground truth it
        counted), with the held-out threshold applied to it, if any."""
        images = list(detections)
        if set(truth) - set(images):
            raise ValueError("ground truth of images without an entry among the detections")
        scores = np.empty(curve.n_predictions)
        scores[curve.order] = curve.scores
        true_positive = np.empty(curve.n_predictions, dtype=bool)
        true_positive[curve.order] = curve.true_positive
        return cls(
            images=np.asarray(images, dtype=str),
            image_patients=np.asarray([patient_of(i) for i in images], dtype=str),
            n_ground_truth=np.asarray([len(truth.get(i, ())) for i in images], dtype=np.int64),
            n_predictions=np.asarray([len(detections[i][1]) for i in images], dtype=np.int64),
            scores=scores,
            true_positive=true_positive,
            heldout_threshold=math.nan if threshold is None else float(threshold),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "images": self.images,
            "image_patients": self.image_patients,
            "n_ground_truth": self.n_ground_truth,
            "n_predictions": self.n_predictions,
            "scores": self.scores,
            "true_positive": self.true_positive,
            "heldout_threshold": np.float64(self.heldout_threshold),
        }

    @classmethod
    def load(cls, path: Path | str) -> ImageMatches:
        _, arrays = read_arrays(path, (FORMAT,))
        return cls.from_arrays(arrays)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ImageMatches:
        return cls(
            images=arrays["images"].astype(str),
            image_patients=arrays["image_patients"].astype(str),
            n_ground_truth=arrays["n_ground_truth"].astype(np.int64),
            n_predictions=arrays["n_predictions"].astype(np.int64),
            scores=arrays["scores"].astype(np.float64),
            true_positive=arrays["true_positive"].astype(bool),
            heldout_threshold=float(arrays["heldout_threshold"]),
        )

    @property
    def has_heldout(self) -> bool:
        return not math.isnan(self.heldout_threshold)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return BEST_F1_METRICS + (HELDOUT_METRICS if self.has_heldout else ())

    @cached_property
    def image_of_prediction(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.images)), self.n_predictions)

    def metrics(self, weights: np.ndarray | None = None) -> dict[str, Any]:
        """AP50, best F1 (with its precision, recall, threshold and counts) and, with a val-chosen threshold, the
        `heldout` F1 of the multiset `weights` (per image; default every image once), as metrics.json has them."""
        weights = np.ones(len(self.images), np.int64) if weights is None else np.asarray(weights, np.int64)
        copies = weights[self.image_of_prediction]
        scores, true_positive = np.repeat(self.scores, copies), np.repeat(self.true_positive, copies)
        ranking = np.argsort(-scores, kind="stable")
        n_ground_truth = int(weights @ self.n_ground_truth)
        precision, recall = cumulative_pr(true_positive[ranking], n_ground_truth)
        # Which ground-truth box each prediction took is not kept: only the flags enter the numbers.
        unknown_iou, unknown_box = np.full(len(ranking), np.nan), np.full(len(ranking), -1)
        curve = PRCurve(scores[ranking], true_positive[ranking], precision, recall, n_ground_truth, ranking,
                        unknown_iou, unknown_box)  # fmt: skip
        result = summarise(curve)
        result["ap50"] = result.pop("ap")
        result["n_images"] = int(weights.sum())
        if self.has_heldout:
            result["heldout"] = threshold_metrics(curve, self.heldout_threshold).to_dict()
        return result

    @cached_property
    def _hits(self) -> tuple[np.ndarray, np.ndarray]:
        """For each true positive of the ranking: per image, the predictions and the true positives at or above it
        (images x true positives)."""
        ranking = np.argsort(-self.scores, kind="stable")
        image = self.image_of_prediction[ranking]
        hits = np.flatnonzero(self.true_positive[ranking])
        hit_image = image[hits]
        n_images = len(self.images)
        above = np.zeros((n_images, len(hits)))
        hits_above = np.zeros((n_images, len(hits)))
        steps = np.arange(len(hits))
        for i in range(n_images):
            above[i] = np.searchsorted(np.flatnonzero(image == i), hits, side="right")
            hits_above[i] = np.searchsorted(np.flatnonzero(hit_image == i), steps, side="right")
        return above, hits_above

    @cached_property
    def _kept(self) -> tuple[np.ndarray, np.ndarray]:
        """Per image, the predictions at or above the val-chosen threshold and the true positives among them."""
        kept = self.scores >= self.heldout_threshold
        n_images = len(self.images)
        return (
            np.bincount(self.image_of_prediction, weights=kept, minlength=n_images),
            np.bincount(self.image_of_prediction, weights=kept & self.true_positive, minlength=n_images),
        )

    def resampled(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """The numbers of `metric_names` for each row of `counts` (resamples x images: how often each image is
        drawn), each an array with one value per resample."""
        counts = np.asarray(counts, np.float64)
        above, hits_above = self._hits
        chunk = max(1, CELLS_PER_CHUNK // max(above.shape[1], 1))
        parts = [self._best_f1(counts[start : start + chunk], above, hits_above)
                 for start in range(0, len(counts), chunk)]  # fmt: skip
        result = {name: np.concatenate([part[name] for part in parts]) for name in BEST_F1_METRICS}
        if self.has_heldout:
            kept, kept_hits = self._kept
            result.update(_operating_point(counts @ kept_hits, counts @ kept, counts @ self.n_ground_truth))
        return result

    def _best_f1(self, counts: np.ndarray, above: np.ndarray, hits_above: np.ndarray) -> dict[str, np.ndarray]:
        if above.shape[1] == 0:  # no true positive: AP and F1 are 0, as are precision and recall at the best F1
            zeros = np.zeros(len(counts))
            return {"ap50": zeros, "f1": zeros, "precision": zeros, "recall": zeros}
        # In place where possible: these arrays are resamples x true positives, and memory traffic is the cost.
        # Where nothing is predicted or there is no ground truth, no true positive is either: 0 / 1 is the 0 wanted.
        predicted, hits = counts @ above, counts @ hits_above
        precision = np.divide(hits, np.maximum(predicted, 1, out=predicted), out=predicted)
        recall = np.divide(hits, np.maximum(counts @ self.n_ground_truth, 1)[:, None], out=hits)
        envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        gained = np.empty_like(recall)
        gained[:, 0] = recall[:, 0]
        np.subtract(recall[:, 1:], recall[:, :-1], out=gained[:, 1:])
        ap = np.sum(np.multiply(gained, envelope, out=gained), axis=1)
        f1 = f1_score(precision, recall)
        best = np.argmax(f1, axis=1)[:, None]  # the first maximum, as `metrics.best_f1`

        def at_best(values: np.ndarray) -> np.ndarray:
            return np.take_along_axis(values, best, axis=1)[:, 0]

        return {"ap50": ap, "f1": at_best(f1), "precision": at_best(precision), "recall": at_best(recall)}


def _operating_point(hits: np.ndarray, kept: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """F1, precision and recall at a fixed threshold from (weighted) counts, as `metrics.threshold_metrics`."""
    precision = np.divide(hits, kept, out=np.zeros_like(hits), where=kept > 0)
    recall = np.divide(hits, truth, out=np.zeros_like(hits), where=truth > 0)
    return {"f1_heldout": f1_score(precision, recall), "precision_heldout": precision, "recall_heldout": recall}
