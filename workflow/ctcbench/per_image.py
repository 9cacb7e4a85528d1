"""The per-image records beside every metrics.json: their file names and their file format (docs/metrics.md#intervals).

An evaluation pools its images into one number; the record beside it keeps what each image contributed, so that the
number can be computed again for any multiset of the same images (a bootstrap resample, one patient's images). The
image level keeps each image's ranked predictions with their match (`detect.image_matches`), the cell level each val
crop's score and label with its image (`classify.crop_records`). Both are `.npz` files holding plain arrays and a
`format` tag, named after their metrics file (`per_image_path`) and named in it under `per_image`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import DatasetError
from .io import atomic_path, atomic_write_json

PER_IMAGE_KEY = "per_image"  # the metrics.json key naming its per-image record (relative to the metrics file)
METRICS_STEM, PER_IMAGE_STEM = "metrics", "per_image"


def per_image_path(metrics: Path | str) -> Path:
    """The per-image record of a metrics file: metrics.json -> per_image.npz, metrics-Expert1.json ->
    per_image-Expert1.npz (an evaluation against another annotator sits beside the default one); a metrics file
    named otherwise, x.json -> x.per_image.npz."""
    metrics = Path(metrics)
    if metrics.name.startswith(METRICS_STEM):
        return metrics.with_name(PER_IMAGE_STEM + metrics.stem.removeprefix(METRICS_STEM) + ".npz")
    return metrics.with_name(f"{metrics.stem}.{PER_IMAGE_STEM}.npz")


class PerImage(Protocol):
    """What every per-image record offers (detect.image_matches.ImageMatches, classify.crop_records.CropRecords): its
    format tag, its images and their patients, its arrays to save, and its metrics on multisets of its images (one
    weight per image; for many at once, one row of counts per resample)."""

    FORMAT: str

    @property
    def images(self) -> np.ndarray: ...

    @property
    def image_patients(self) -> np.ndarray: ...

    def arrays(self) -> dict[str, np.ndarray]: ...

    def metrics(self, weights: np.ndarray | None = None) -> dict[str, Any]: ...

    def resampled(self, counts: np.ndarray) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class Evaluation:
    """An evaluation's metrics.json content and the per-image record its numbers were pooled from."""

    metrics: dict[str, Any]
    per_image: PerImage


def write_arrays(path: Path | str, format_tag: str, arrays: dict[str, np.ndarray]) -> None:
    """An npz of plain arrays (no pickles) with its format tag, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, format=np.array(format_tag), **arrays)


def read_arrays(path: Path | str, formats: tuple[str, ...]) -> tuple[str, dict[str, np.ndarray]]:
    """(format tag, arrays) of a per-image record; a missing or foreign file is an error naming the fix."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: per-image record missing; evaluate the run again (it is written beside metrics)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path}: not a readable per-image record ({error}); evaluate the run again") from None
    tag = str(arrays.pop("format", ""))
    if tag not in formats:
        raise DatasetError(f"{path}: format {tag!r}, expected one of {', '.join(formats)}; evaluate the run again")
    return tag, arrays


def write_evaluation(evaluation: Evaluation, metrics_path: Path | str, record_path: Path | str) -> dict[str, Any]:
    """The per-image record first, then metrics.json naming it (relative to the metrics file), both atomically;
    returns the metrics as written."""
    metrics_path, record_path = Path(metrics_path), Path(record_path)
    record = evaluation.per_image
    write_arrays(record_path, record.FORMAT, record.arrays())
    metrics = {**evaluation.metrics, PER_IMAGE_KEY: os.path.relpath(record_path, metrics_path.parent)}
    atomic_write_json(metrics_path, metrics)
    return metrics
