"""Paired comparisons between the cells of a table, where the paper draws its conclusions (docs/metrics.md#intervals).

A comparison names two arms, each the results rows of a table cell (one metric, its runs over seeds). Its numbers:
the difference of the arms' means over seeds (percentage points), its percentile interval and a two-sided p-value
from the paired bootstrap (both arms scored on the same resampled images, `report.intervals`), and the p-value
adjusted by Holm's method over every comparison of the table. A table declares its comparisons in its spec
(`TableSpec.comparisons`, report.table_specs); they are written as `tables/<table>_comparisons.{csv,md,html}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..tables import number, summarise
from .bootstrap import holm
from .intervals import Intervals
from .results import Results
from .views import TableSpec

# Identity columns of a comparison's CSV row: the cell held fixed, what differs and its two values, the metric.
COMPARISON_COLUMNS = ("table", "detector", "setting", "stage", "trainset", "compared", "arm_a", "arm_b", "metric")
NUMBER_COLUMNS = ("n_runs_a", "n_runs_b", "mean_a", "mean_b", "difference", "ci_low", "ci_high", "p_value", "p_holm")
COLUMNS = COMPARISON_COLUMNS + NUMBER_COLUMNS


@dataclass(frozen=True)
class Comparison:
    labels: tuple[str, ...]  # its leading Markdown cells
    a: dict[str, Any]  # results.csv columns and values of arm a (the metric among them)
    b: dict[str, Any]  # ... of arm b, the reference: the difference is a - b
    csv: dict[str, Any]  # the identity columns of its CSV row (COMPARISON_COLUMNS)


@dataclass(frozen=True)
class ComparisonView:
    caption: str  # what is compared; the bootstrap's sentence is added
    header: tuple[str, ...]  # of the label columns
    comparisons: tuple[Comparison, ...]


def format_p(p: float) -> str:
    if math.isnan(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_p_csv(p: float) -> str:
    return "" if math.isnan(p) else f"{p:.6g}"


def render_comparisons(
    spec: TableSpec, params: dict[str, Any], results: Results, intervals: Intervals
) -> tuple[list[dict[str, Any]], str]:
    """(CSV rows, Markdown) of a table's paired comparisons; a comparison whose arms lack per-image records has its
    means but no interval or p-value, and is not counted in Holm's family."""
    view = spec.comparisons(params, results)
    rows, tests = [], []
    for comparison in view.comparisons:
        a, b = summarise(results.values(**comparison.a)), summarise(results.values(**comparison.b))
        observed = a.mean - b.mean
        test = intervals.difference(results.select(**comparison.a), results.select(**comparison.b), observed)
        tests.append(test)
        low, high, p = (math.nan,) * 3 if test is None else (test.low, test.high, test.p_value)
        rows.append({**comparison.csv, "n_runs_a": a.n, "n_runs_b": b.n, "mean_a": number(a.mean),
                     "mean_b": number(b.mean), "difference": number(observed), "ci_low": number(low),
                     "ci_high": number(high), "p_value": format_p_csv(p)})  # fmt: skip
    adjusted = holm([math.nan if test is None else test.p_value for test in tests])
    header = (*view.header, "A − B", f"{intervals.bootstrap.percent} interval", "p", "p (Holm)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for comparison, row, p_holm in zip(view.comparisons, rows, adjusted):
        row["p_holm"] = format_p_csv(p_holm)
        difference = "–" if row["difference"] == "" else f"{float(row['difference']):+.1f}"
        interval = "–" if row["ci_low"] == "" else f"[{float(row['ci_low']):+.1f}, {float(row['ci_high']):+.1f}]"
        p = math.nan if row["p_value"] == "" else float(row["p_value"])
        cells = (*comparison.labels, difference, interval, format_p(p), format_p(p_holm))
        lines.append("| " + " | ".join(cells) + " |")
    family = sum(not math.isnan(p) for p in adjusted)
    caption = view.caption + " " + bootstrap_note(intervals, family)
    return rows, caption + "\n\n" + "\n".join(lines) + "\n"


def bootstrap_note(intervals: Intervals, family: int) -> str:
    bootstrap = intervals.bootstrap
    return (
        "A − B: the difference of the means over seeds, percentage points, with its "
        f"{bootstrap.percent} paired bootstrap interval ({bootstrap.resamples} resamples of the test images drawn with "
        "replacement within each patient, the same images for both arms; the patient is the unit that varies between "
        "hospitals). p: two-sided, from the bootstrap standard error (normal approximation); p (Holm): adjusted by "
        f"Holm's method over the {family} comparisons of this table."
    )
