"""The study's statistics over runs (docs/metrics.md#bf-only): the normality of each arm's F1 (Shapiro-Wilk), the
equality of their variances (Levene, centred on the median as scipy's default) and the Mann-Whitney U test of the
two arms (two-sided, scipy's default method: exact for small samples without ties), all from scipy.stats."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats

TESTS = ("shapiro_a", "shapiro_b", "levene", "mann_whitney_u")
TEST_TITLES = {
    "shapiro_a": "Shapiro-Wilk (normality), arm A",
    "shapiro_b": "Shapiro-Wilk (normality), arm B",
    "levene": "Levene (equal variances)",
    "mann_whitney_u": "Mann-Whitney U (two-sided)",
}
MIN_SPREAD = 3  # values per arm Shapiro-Wilk needs; Levene with two is degenerate (no spread within an arm)


def compare(a: Sequence[float], b: Sequence[float]) -> dict[str, tuple[float, float]]:
    """(statistic, p-value) of each test of arm a against arm b; NaN where an arm has too few values."""
    nan = (math.nan, math.nan)

    def shapiro(values: Sequence[float]) -> tuple[float, float]:
        if len(values) < MIN_SPREAD or len(set(values)) == 1:
            return nan
        result = stats.shapiro(values)
        return float(result.statistic), float(result.pvalue)

    both = len(a) >= MIN_SPREAD and len(b) >= MIN_SPREAD
    levene = stats.levene(a, b) if both else None
    mann_whitney = stats.mannwhitneyu(a, b, alternative="two-sided") if len(a) and len(b) else None
    return {
        "shapiro_a": shapiro(a),
        "shapiro_b": shapiro(b),
        "levene": nan if levene is None else (float(levene.statistic), float(levene.pvalue)),
        "mann_whitney_u": nan if mann_whitney is None else (float(mann_whitney.statistic), float(mann_whitney.pvalue)),
    }
