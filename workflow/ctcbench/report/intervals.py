"""Bootstrap intervals of the table cells and paired differences between them (docs/metrics.md#intervals).

A table cell is the mean over seeds of one metric of some runs (`report.views`). Each run's per-image record (the
file beside its metrics.json, `ctcbench.per_image`) gives that metric on any resample of its images; the cell's
interval is the percentile interval, over the resamples, of the mean over its runs, every run scored on the same
resampled images (`report.bootstrap`). A cell of one patient's images (Table 6) resamples that patient's images; a
cell-level cell resamples the val images, every crop of a drawn image going with it.

Runs without a per-image record (a method scored before records were written, the human agreement) give their cell
no interval: its CSV columns stay empty and its Markdown shows no brackets.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..per_image import PerImage, per_image_path, read_arrays
from .bootstrap import Bootstrap, PairedDifference, paired_difference, percentile_interval, resample_counts
from .results import ALL, Result


def load_record(path: Path | str) -> PerImage:
    """The per-image record of either level (detect.image_matches or classify.crop_records)."""
    # Imported here: the workflow imports the table specs when it plans, and the cell level's metrics import scipy.
    from ..classify.bf_only.records import MacroRecords
    from ..classify.crop_records import CropRecords
    from ..detect.image_matches import ImageMatches

    kinds = {ImageMatches.FORMAT: ImageMatches.from_arrays, CropRecords.FORMAT: CropRecords.from_arrays,
             MacroRecords.FORMAT: MacroRecords.from_arrays}  # fmt: skip
    tag, arrays = read_arrays(path, tuple(kinds))
    return kinds[tag](arrays)


def _key(path: Path | str) -> str:
    return os.path.normpath(str(path))


@dataclass(frozen=True)
class Resampled:
    """The mean over a cell's runs on each resample, and the images that were resampled."""

    images: tuple[str, ...]
    means: np.ndarray
    sources: tuple[str, ...]


class Intervals:
    """The per-image records of a table's runs, by the metrics file they belong to, and the bootstrap to apply."""

    def __init__(self, records: dict[str, PerImage], bootstrap: Bootstrap) -> None:
        self.records = {_key(path): record for path, record in records.items()}
        self.bootstrap = bootstrap
        self._plans: dict[tuple[str, ...], np.ndarray] = {}
        self._runs: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, np.ndarray]] | None] = {}

    @classmethod
    def load(cls, paths: Iterable[Path | str], bootstrap: Bootstrap) -> Intervals:
        return cls({_key(path): load_record(path) for path in paths}, bootstrap)

    def _plan(self, images: np.ndarray, patients: np.ndarray) -> np.ndarray:
        """The resamples of a set of images (sorted), drawn once per set."""
        key = tuple(images.tolist())
        if key not in self._plans:
            self._plans[key] = resample_counts(images, patients, self.bootstrap)
        return self._plans[key]

    def _run(self, row: Result) -> tuple[tuple[str, ...], dict[str, np.ndarray]] | None:
        """(the images resampled, every metric of the run on each resample) for a row's run and subset."""
        path = _key(per_image_path(row.source))
        record = self.records.get(path)
        if record is None:
            return None
        key = (path, row.subset)
        if key not in self._runs:
            chosen = np.ones(len(record.images), bool) if row.subset == ALL else record.image_patients == row.subset
            columns = np.flatnonzero(chosen)
            columns = columns[np.argsort(record.images[columns], kind="stable")]
            self._runs[key] = None
            if len(columns):
                counts = np.zeros((self.bootstrap.resamples, len(record.images)))
                counts[:, columns] = self._plan(record.images[columns], record.image_patients[columns])
                self._runs[key] = (tuple(record.images[columns].tolist()), record.resampled(counts))
        return self._runs[key]

    def resampled(self, rows: list[Result]) -> Resampled | None:
        """The mean over `rows` (a cell's runs, one metric) on each resample; None when a run has no record of that
        metric. Runs whose value is undefined do not count, as in the cell's mean."""
        rows = [row for row in rows if row.value is not None]
        runs = []
        for row in rows:
            run = self._run(row)
            if run is None or row.metric not in run[1]:
                return None
            runs.append(run)
        if not runs:
            return None
        images = runs[0][0]
        for row, (other, _) in zip(rows, runs):
            if other != images:
                raise DatasetError(
                    f"{row.source}: evaluated on other images than {rows[0].source}; the runs of one table cell are "
                    "resampled on the same images: evaluate them on the same image list"
                )
        means = np.mean([stats[row.metric] for row, (_, stats) in zip(rows, runs)], axis=0)
        return Resampled(images, means, tuple(row.source for row in rows))

    def interval(self, rows: list[Result]) -> tuple[float, float] | None:
        """The cell's percentile interval of the mean over its runs, in percent; None without records."""
        resampled = self.resampled(rows)
        if resampled is None:
            return None
        low, high = percentile_interval(resampled.means, self.bootstrap.level)
        return 100 * low, 100 * high

    def difference(self, rows_a: list[Result], rows_b: list[Result], observed: float) -> PairedDifference | None:
        """Arm a - arm b (`observed`, in percent) with its interval and p-value from the same resampled images; None
        when an arm has no records."""
        a, b = self.resampled(rows_a), self.resampled(rows_b)
        if a is None or b is None:
            return None
        if a.images != b.images:
            raise DatasetError(
                f"{a.sources[0]} and {b.sources[0]}: evaluated on other images; a paired comparison resamples the "
                "same images for both arms: evaluate them on the same image list"
            )
        return paired_difference(observed, 100 * a.means, 100 * b.means, self.bootstrap.level)


def interval_note(bootstrap: Bootstrap, unit: str) -> str:
    """The caption's sentence on the brackets."""
    return (
        f"Brackets: the {bootstrap.percent} bootstrap interval of the mean over seeds, from {bootstrap.resamples} "
        f"resamples of the {unit} drawn with replacement within each patient (the patient is the unit that varies "
        "between hospitals)."
    )
