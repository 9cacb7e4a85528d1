"""What each val image contributed to a cell-level evaluation (docs/metrics.md#intervals).

Kept per val crop: its image and patient, whether it is cancer (R), the reported P(R) (that of `best.pt`, or the
held-out scores of cross-fitted checkpoints) and, under a cross-fitted threshold, the decision it got from the
threshold tuned on the other half of the val images. A multiset of the val images (a weight per image, every crop
of an image going with it) then gives its F1, precision, recall and AUROC under the run's threshold rule:

* oracle (the original's): the threshold sweep is run again on the multiset, so the oracle's choice is part of
  what varies;
* cross-fitted: each crop keeps its held-out decision; the multiset recounts them (the threshold was tuned on the
  original halves and is not tuned again).

`metrics(weights)` materialises the multiset and scores it with the evaluation's own functions (all weights 1: the
metrics.json values bit for bit); `resampled(counts)` gives the same numbers for many multisets at once from
per-image counts (a matrix product), AUROC from the per-image-pair counts of concordant (positive, negative) crops.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..per_image import read_arrays
from .metrics import F1_STOP, THRESHOLDS, auroc, binary_at, threshold_sweep

FORMAT = "ctcbench.crop_records/1"
# The numbers `resampled` gives, under the long results table's metric names (report.results.CELL_METRICS).
CELL_METRICS = ("f1", "precision", "recall", "auroc")


class CropsOfImages:
    """The val images of a run's records, for resampling them: needs `crop_images` and `crop_patients` (per crop,
    its image and patient)."""

    crop_images: np.ndarray
    crop_patients: np.ndarray

    @cached_property
    def _images(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        images, first, crop_image = np.unique(self.crop_images, return_index=True, return_inverse=True)
        return images, self.crop_patients[first], crop_image

    @property
    def images(self) -> np.ndarray:
        """The val images with crops, sorted."""
        return self._images[0]

    @property
    def image_patients(self) -> np.ndarray:
        return self._images[1]

    @property
    def crop_image(self) -> np.ndarray:
        """Per crop: the index of its image in `images`."""
        return self._images[2]


@dataclass(frozen=True)
class CropRecords(CropsOfImages):
    FORMAT: ClassVar[str] = FORMAT
    metric_names: ClassVar[tuple[str, ...]] = CELL_METRICS

    crop_images: np.ndarray  # per crop: its image id
    crop_patients: np.ndarray  # per crop: its patient
    is_cancer: np.ndarray  # bool per crop
    p_cancer: np.ndarray  # per crop: the reported P(R), in the dtype it was scored in
    heldout: np.ndarray | None = None  # bool per crop: its cross-fitted decision; None under the oracle threshold

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = {"crop_images": self.crop_images, "crop_patients": self.crop_patients,
                  "is_cancer": self.is_cancer, "p_cancer": self.p_cancer}  # fmt: skip
        return arrays if self.heldout is None else {**arrays, "heldout": self.heldout}

    @classmethod
    def load(cls, path: Path | str) -> CropRecords:
        _, arrays = read_arrays(path, (FORMAT,))
        return cls.from_arrays(arrays)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CropRecords:
        heldout = arrays.get("heldout")
        return cls(
            crop_images=arrays["crop_images"].astype(str),
            crop_patients=arrays["crop_patients"].astype(str),
            is_cancer=arrays["is_cancer"].astype(bool),
            p_cancer=arrays["p_cancer"],
            heldout=None if heldout is None else heldout.astype(bool),
        )

    def metrics(self, weights: np.ndarray | None = None) -> dict[str, Any]:
        """F1, precision and recall under the run's threshold rule, and AUROC, of the multiset `weights` (per image of
        `images`; default every image once), as metrics.json has them."""
        weights = np.ones(len(self.images), np.int64) if weights is None else np.asarray(weights, np.int64)
        copies = weights[self.crop_image]
        is_cancer, p_cancer = np.repeat(self.is_cancer, copies), np.repeat(self.p_cancer, copies)
        if self.heldout is None:
            best, _ = threshold_sweep(is_cancer, p_cancer)
        else:
            best = binary_at(is_cancer, np.repeat(self.heldout, copies).astype(float), 0.5)
        area = auroc(is_cancer, p_cancer)
        return {"f1": best.f1, "precision": best.precision, "recall": best.recall,
                "auroc": None if np.isnan(area) else area}  # fmt: skip

    def _per_image(self, flags: np.ndarray) -> np.ndarray:
        return np.bincount(self.crop_image, weights=flags, minlength=len(self.images))

    @cached_property
    def _decisions(self) -> tuple[np.ndarray, np.ndarray]:
        """Per image (rows) and threshold (columns): true and false positives. The oracle sweeps the original's
        thresholds; a cross-fitted threshold has one column, the held-out decisions."""
        if self.heldout is not None:
            columns = [self.heldout]
        else:  # `p >= float(t)`, as `metrics.binary_at` compares, in the scores' own dtype
            columns = [self.p_cancer >= float(t) for t in THRESHOLDS]
        tp = np.stack([self._per_image(c & self.is_cancer) for c in columns], axis=1)
        fp = np.stack([self._per_image(c & ~self.is_cancer) for c in columns], axis=1)
        return tp, fp

    @cached_property
    def _concordant(self) -> np.ndarray:
        """[i, j]: pairs of a cancer crop of image i and another crop of image j that the scores order right, ties
        counting half (the Mann-Whitney count of AUROC)."""
        n_images, scores = len(self.images), np.asarray(self.p_cancer, np.float64)
        positive_image, positive_scores = self.crop_image[self.is_cancer], scores[self.is_cancer]
        pairs = np.zeros((n_images, n_images))
        for j in range(n_images):
            negatives = np.sort(scores[(self.crop_image == j) & ~self.is_cancer])
            if len(negatives) == 0:
                continue
            below = np.searchsorted(negatives, positive_scores, side="left")
            tied = np.searchsorted(negatives, positive_scores, side="right") - below
            pairs[:, j] = np.bincount(positive_image, weights=below + 0.5 * tied, minlength=n_images)
        return pairs

    def resampled(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """F1, precision, recall and AUROC for each row of `counts` (resamples x images of `images`), each an array
        with one value per resample (AUROC NaN where a resample has one class only)."""
        counts = np.asarray(counts, np.float64)
        positives = counts @ self._per_image(self.is_cancer)
        negatives = counts @ self._per_image(~self.is_cancer)
        tp_per_image, fp_per_image = self._decisions
        tp, fp = counts @ tp_per_image, counts @ fp_per_image
        fn = positives[:, None] - tp
        f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=tp > 0)
        stopped = np.cumsum(f1 < F1_STOP, axis=1) - (f1 < F1_STOP) > 0  # the sweep ended at an earlier threshold
        best = np.argmax(np.where(stopped, -np.inf, f1), axis=1)[:, None]
        tp, fp, f1 = (np.take_along_axis(v, best, axis=1)[:, 0] for v in (tp, fp, f1))
        concordant = np.sum((counts @ self._concordant) * counts, axis=1)
        pairs = positives * negatives
        return {
            "f1": f1,
            "precision": np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0),
            "recall": np.divide(tp, positives, out=np.zeros_like(tp), where=positives > 0),
            "auroc": np.divide(concordant, pairs, out=np.full_like(pairs, np.nan), where=pairs > 0),
        }
