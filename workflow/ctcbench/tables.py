"""Helpers every table and figure CSV shares, below every stage (data, classify, detect, pipeline, report).

Summaries are mean ± std over seeds in percent. The paper does not say whether its ± is the population or the sample
std (docs/metrics.md#aggregation), so CSVs carry both (ddof 0 and 1) and the Markdown shows the sample std; the
published value sits beside each of ours, with the difference. Where the runs' per-image records allow, a cell also
carries its bootstrap interval (docs/metrics.md#intervals): in the CSV always, in the Markdown in brackets.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DatasetError
from .io import atomic_path

METRIC_TITLES = {
    "f1": "F1",
    "precision": "Precision",
    "recall": "Recall",
    "auroc": "AUROC",
    "accuracy": "Accuracy",
    "ap50": "AP50",
    "f1_heldout": "F1 (val thr.)",
    "sensitivity": "Sens.",
    "specificity": "Spec.",
}
# The numeric columns of a table cell (`summary_columns`), after the columns that say which cell it is.
SUMMARY_COLUMNS = ("n_runs", "mean", "std_ddof0", "std_ddof1", "ci_low", "ci_high", "paper_mean", "paper_std", "delta")
Interval = tuple[float, float]  # a cell's bootstrap interval, percent


def write_csv(path: Path | str, rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """Rows as CSV in the given column order, atomically; None is written as an empty cell."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Markdown table lines: the first column left-aligned, the others right-aligned (numbers)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std0: float
    std1: float


def summarise(values: list[float | None]) -> Summary:
    """Mean and both standard deviations in percent; NaN where undefined (no runs, or one run for ddof 1)."""
    data = np.asarray([v for v in values if v is not None], np.float64) * 100
    if len(data) == 0:
        return Summary(0, math.nan, math.nan, math.nan)
    std1 = float(np.std(data, ddof=1)) if len(data) > 1 else math.nan
    return Summary(len(data), float(np.mean(data)), float(np.std(data, ddof=0)), std1)


def format_mean_std(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "–"
    return f"{mean:.1f} ± {std:.1f}" if not math.isnan(std) else f"{mean:.1f} ± –"


def format_interval(interval: Interval | None) -> str:
    """` [low, high]`, or nothing without an interval."""
    if interval is None or math.isnan(interval[0]):
        return ""
    return f" [{interval[0]:.1f}, {interval[1]:.1f}]"


def format_delta(summary: Summary, paper: tuple[float, float]) -> str:
    """`; Δ +0.7`: ours − paper in points, or nothing where ours is undefined."""
    return "" if math.isnan(summary.mean) else f"; Δ {summary.mean - paper[0]:+.1f}"


def format_cell(
    summary: Summary, paper: tuple[float, float] | None, interval: Interval | None = None, delta: bool = False
) -> str:
    """`ours ± std [interval] (paper ± std)`; with `delta` (the data are the release, so the two are comparable)
    also ours − paper inside the parentheses."""
    ours = format_mean_std(summary.mean, summary.std1) + format_interval(interval)
    if not paper:
        return ours
    return f"{ours} ({format_mean_std(*paper)}{format_delta(summary, paper) if delta else ''})"


def number(value: float) -> str:
    """A number of a table CSV: six decimals, empty where undefined."""
    return "" if math.isnan(value) else f"{value:.6f}"


def summary_columns(
    summary: Summary, paper: tuple[float, float] | None, interval: Interval | None = None
) -> dict[str, Any]:
    """The numeric CSV columns of one table cell: ours (both stds, the bootstrap interval), the paper's, and the
    difference."""
    low, high = interval if interval is not None else (math.nan, math.nan)
    return {
        "n_runs": summary.n,
        "mean": number(summary.mean),
        "std_ddof0": number(summary.std0),
        "std_ddof1": number(summary.std1),
        "ci_low": number(low),
        "ci_high": number(high),
        "paper_mean": "" if paper is None else paper[0],
        "paper_std": "" if paper is None else paper[1],
        "delta": "" if paper is None or math.isnan(summary.mean) else f"{summary.mean - paper[0]:.6f}",
    }


def read_paper_rows(path: Path | str | None) -> list[dict[str, str]]:
    """The rows of a published table's CSV under resources/paper/ (none when no path is given)."""
    if path is None:
        return []
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: paper table missing; it is committed under resources/paper/")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def index_paper(rows: list[dict[str, str]], *columns: str) -> dict[tuple[str, ...], tuple[float, float]]:
    """(values of `columns`) -> (mean, std) of published rows."""
    return {tuple(row[c] for c in columns): (float(row["mean"]), float(row["std"])) for row in rows}
