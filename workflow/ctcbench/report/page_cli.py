"""`ctcbench report-page`: one Markdown page with every regenerated table and figure (results/{preset}/report.md)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--title", required=True, help="the page's title, e.g. the preset and protocol")
    parser.add_argument("--tables", type=Path, nargs="*", default=[], help="the tables' .md files")
    parser.add_argument("--figures", type=Path, nargs="*", default=[], help="the figures' .png files")
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="run.json of every training run")
    parser.add_argument("--audit", type=Path, help="the dataset audit (data/audit.md), linked from the page")
    parser.add_argument("--dataset", type=Path, required=True, help="the dataset pointer, named under the title")
    parser.add_argument("--out", type=Path, required=True, help="output: report.md")


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import describe_data, read_pointer
    from ..io import atomic_write_text
    from .summary import FIGURES, TABLES, in_paper_order, load_records, provenance_summary, render

    tables = in_paper_order(args.tables, TABLES, "tables")
    figures = in_paper_order(args.figures, FIGURES, "figures")
    provenance = provenance_summary(load_records(args.runs))
    data = describe_data(read_pointer(args.dataset))
    page = render(args.title, tables, figures, provenance, args.out.resolve().parent, args.audit, data)
    atomic_write_text(args.out, page)
    log.info("%s: %d tables, %d figures, %d runs", args.out, len(tables), len(figures), provenance["runs"])
