"""Tables as views of the long results table: a table spec lays out cells, this renders them.

A cell names the results rows it summarises (`where`: column values of results.csv, one metric), the identity
columns of its CSV row, and its key into the paper's table. Rendering summarises each cell over seeds (mean and both
stds in percent, `tables.summarise`), adds its bootstrap interval where the runs' per-image records are given
(`report.intervals`), puts the paper's value beside it, and writes one CSV row per cell and one Markdown table per
block, under the caption. A table may also declare paired comparisons between its cells (`report.comparisons`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..tables import SUMMARY_COLUMNS, format_cell, index_paper, summarise, summary_columns
from .intervals import Intervals, interval_note
from .results import CELL, Results

RUNS = "{n}"  # a row label replaced by the number of seeds of the row (its runs per cell)


@dataclass(frozen=True)
class Cell:
    where: dict[str, Any]  # results.csv columns and values, the metric among them
    csv: dict[str, Any]  # the identity columns of the cell's CSV row
    paper: dict[str, Any] | None = None  # values of the paper table's key columns; None: no published value


@dataclass(frozen=True)
class Row:
    labels: tuple[str, ...]  # leading Markdown cells; RUNS is replaced by how many seeds the row has
    cells: tuple[Cell, ...]
    runs: dict[str, Any] = field(default_factory=dict)  # results.csv columns whose seeds RUNS counts


@dataclass(frozen=True)
class Block:
    header: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class View:
    caption: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class TableSpec:
    """One table, declared once: its file name and title, where it is in the report, the paper table it sits beside,
    the identity columns of its CSV, what the config decides about it, and its layout over the results."""

    name: str
    title: str
    category: str  # its category in the HTML report
    feeds: str  # the name the plan gives it: the runs of arms that feed it are its inputs (plan.arms)
    reads: tuple[str, ...]  # the stages of the records it reads (report.results: cell, detection, pipeline)
    csv_columns: tuple[str, ...]  # identity columns; the summary columns follow
    params: Callable[[dict[str, Any]], dict[str, Any]]  # config -> the table's parameters (JSON-ready)
    layout: Callable[[dict[str, Any], Results], View]
    paper_file: str | None = None  # under resources/paper/
    paper_keys: tuple[str, ...] = ()  # columns of the paper's CSV that identify a published value
    comparisons: Callable[[dict[str, Any], Results], Any] | None = None  # -> report.comparisons.ComparisonView
    # A table that is not a summary of cells (statistical tests over runs) renders itself: (spec, params, results,
    # paper rows, intervals, deltas) -> (CSV rows of `csv_columns`, Markdown), in place of `render`.
    writer: Callable[..., tuple[list[dict[str, Any]], str]] | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.csv_columns if self.writer is not None else self.csv_columns + SUMMARY_COLUMNS

    @property
    def comparisons_name(self) -> str:
        """The file stem of its paired comparisons (tables/<name>_comparisons.csv)."""
        return f"{self.name}_comparisons"

    @property
    def comparisons_title(self) -> str:
        return f"{self.title}: paired comparisons"

    @property
    def resampled_unit(self) -> str:
        """What its intervals resample: the val images (cell level) or the test images."""
        return "val images (every crop of a drawn image with it)" if CELL in self.reads else "test images"


def render(
    spec: TableSpec,
    params: dict[str, Any],
    results: Results,
    paper_rows: list[dict[str, str]],
    intervals: Intervals | None = None,
    deltas: bool = False,
):
    """(CSV rows, Markdown) of a table; with `intervals`, each cell whose runs have per-image records gets its
    bootstrap interval; with `deltas` (results of the released data), each published value its ours − paper."""
    paper = index_paper(paper_rows, *spec.paper_keys) if spec.paper_keys else {}
    view = spec.layout(params, results)
    rows, blocks, resampled = [], [], False
    for block in view.blocks:
        lines = ["| " + " | ".join(block.header) + " |", "|" + "---|" * len(block.header)]
        for row in block.rows:
            cells = []
            for cell in row.cells:
                summary = summarise(results.values(**cell.where))
                interval = None if intervals is None else intervals.interval(results.select(**cell.where))
                resampled = resampled or interval is not None
                published = None if cell.paper is None else paper.get(tuple(cell.paper[k] for k in spec.paper_keys))
                rows.append({**cell.csv, **summary_columns(summary, published, interval)})
                cells.append(format_cell(summary, published, interval, deltas))
            labels = [str(results.seeds(**row.runs)) if label == RUNS else label for label in row.labels]
            lines.append("| " + " | ".join([*labels, *cells]) + " |")
        blocks.append("\n".join(lines))
    caption = view.caption
    if resampled:
        caption += " " + interval_note(intervals.bootstrap, spec.resampled_unit)
    if deltas and paper:
        caption += " Δ: ours − paper, in points."
    return rows, caption + "\n\n" + "\n\n".join(blocks) + "\n"
