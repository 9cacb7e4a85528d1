"""The bootstrap of the result tables: resampling images within patients, percentile intervals, the paired test and
Holm's correction (docs/metrics.md#intervals). Numpy only.

A resample draws, for every patient, as many of that patient's images as it has, with replacement; a row of the
count matrix says how often each image was drawn. The patient is the stratum because it is the unit that varies
between hospitals: the 120 test images are 40 of each of three patients, and a resample keeps that design. The
draws depend only on the seed and the set of images (sorted within each patient), so every table cell over the same
images, and both arms of a comparison, see the same resamples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class Bootstrap:
    """config `report.bootstrap`: how many resamples, their seed, and the level of the intervals."""

    resamples: int = 1000
    seed: int = 0
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.resamples < 2:
            raise ConfigError(f"report.bootstrap.resamples = {self.resamples}: expected at least 2")
        if not 0 < self.level < 1:
            raise ConfigError(f"report.bootstrap.level = {self.level}: expected a number between 0 and 1, e.g. 0.95")

    @property
    def percent(self) -> str:
        """The level as the captions write it: 95 %."""
        return f"{100 * self.level:g} %"


def resample_counts(images: np.ndarray, patients: np.ndarray, bootstrap: Bootstrap) -> np.ndarray:
    """resamples x images (in the given order): how often each image is drawn when each patient's images are drawn
    with replacement, as many as the patient has."""
    images, patients = np.asarray(images, str), np.asarray(patients, str)
    if len(set(images.tolist())) != len(images):
        raise ValueError("resample_counts: an image is listed twice")
    rng = np.random.default_rng(bootstrap.seed)
    counts = np.zeros((bootstrap.resamples, len(images)), np.int64)
    for patient in sorted(set(patients.tolist())):
        members = np.flatnonzero(patients == patient)
        members = members[np.argsort(images[members], kind="stable")]  # the draws do not depend on the given order
        draws = rng.integers(0, len(members), size=(bootstrap.resamples, len(members)))
        rows = np.repeat(np.arange(bootstrap.resamples), len(members))
        np.add.at(counts, (rows, members[draws.ravel()]), 1)
    return counts


def percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The central `level` interval of the resampled values (the percentile bootstrap); resamples where the value is
    undefined (NaN) are left out, and with none defined the interval is (NaN, NaN)."""
    values = np.asarray(values, np.float64)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class PairedDifference:
    difference: float  # arm a - arm b on the images themselves
    low: float
    high: float
    p_value: float


def paired_difference(
    observed: float, resampled_a: np.ndarray, resampled_b: np.ndarray, level: float
) -> PairedDifference:
    """The difference a - b, its percentile interval over the resamples (the same images for both arms) and a
    two-sided p-value for "no difference".

    The p-value is the normal approximation with the bootstrap standard error, 2 (1 - Φ(|d| / se)). (Counting the
    resamples on the other side of 0 cannot go below 2 / resamples, which Holm's correction over a table's
    comparisons would multiply beyond any usual level.) Arms that never differ have p = 1.
    """
    differences = np.asarray(resampled_a, np.float64) - np.asarray(resampled_b, np.float64)
    differences = differences[~np.isnan(differences)]
    low, high = percentile_interval(differences, level)
    spread = float(np.std(differences, ddof=1)) if len(differences) > 1 else math.nan
    if math.isnan(spread) or math.isnan(observed):
        p_value = math.nan
    elif spread == 0:
        p_value = 1.0 if observed == 0 else 0.0
    else:
        p_value = math.erfc(abs(observed) / (spread * math.sqrt(2)))
    return PairedDifference(observed, low, high, p_value)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (NaN ones stay NaN and do not count in the family): the
    k-th smallest of m is multiplied by m - k + 1, made non-decreasing and capped at 1."""
    p = np.asarray(p_values, np.float64)
    tested = np.flatnonzero(~np.isnan(p))
    adjusted = np.full(len(p), math.nan)
    order = tested[np.argsort(p[tested], kind="stable")]
    factors = len(order) - np.arange(len(order))
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(factors * p[order]))
    return adjusted.tolist()
