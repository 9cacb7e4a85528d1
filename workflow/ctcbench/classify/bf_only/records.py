"""What each val image contributed to a run of the brightfield-only track (docs/metrics.md#intervals): per val
crop its image, patient, label and reported prediction, so that the study's macro metrics can be recomputed on any
multiset of the val images (the bootstrap intervals of its tables)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..crop_records import CropsOfImages
from .metrics import CLASSES, METRICS, confusion, from_confusion

FORMAT = "ctcbench.bf_only_records/1"


@dataclass(frozen=True)
class MacroRecords(CropsOfImages):
    FORMAT: ClassVar[str] = FORMAT
    metric_names: ClassVar[tuple[str, ...]] = METRICS

    crop_images: np.ndarray
    crop_patients: np.ndarray
    labels: np.ndarray  # 0 cancer, 1 not-cancer
    predicted: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {"crop_images": self.crop_images, "crop_patients": self.crop_patients, "labels": self.labels,
                "predicted": self.predicted}  # fmt: skip

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> MacroRecords:
        return cls(arrays["crop_images"].astype(str), arrays["crop_patients"].astype(str),
                   arrays["labels"].astype(np.int64), arrays["predicted"].astype(np.int64))  # fmt: skip

    @cached_property
    def _per_image(self) -> np.ndarray:
        """[image, cell of the flattened 2 x 2 confusion]: the crops of each image in each cell."""
        cells = self.labels * CLASSES + self.predicted
        table = np.zeros((len(self.images), CLASSES * CLASSES))
        np.add.at(table, (self.crop_image, cells), 1)
        return table

    def metrics(self, weights: np.ndarray | None = None) -> dict[str, Any]:
        weights = np.ones(len(self.images)) if weights is None else np.asarray(weights, np.float64)
        return from_confusion(confusion(self.labels, self.predicted, weights[self.crop_image]))

    def resampled(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric for each row of `counts` (resamples x images)."""
        tables = np.asarray(counts, np.float64) @ self._per_image
        rows = [from_confusion(table.reshape(CLASSES, CLASSES)) for table in tables]
        return {name: np.array([row[name] for row in rows]) for name in METRICS}
