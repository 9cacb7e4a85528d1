"""`ctcbench classify-table`: Tables 2 and 3 (cell level) and a CSV of every run, beside the paper's numbers."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..data.pointer import describe_data, read_pointer
from ..errors import ConfigError
from ..markup import write_table
from ..tables import write_csv
from .table import (
    LONG_COLUMNS,
    RUN_COLUMNS,
    load_runs,
    read_paper,
    run_rows,
    table2,
    table3,
)

log = logging.getLogger(__name__)


def parse_label(text: str) -> tuple[str, str]:
    key, sep, label = text.partition("=")
    if not sep or not key or not label:
        raise ConfigError(f"--labels {text!r}: expected KEY=Paper label, e.g. convnext_b=ConvNext-B")
    return key, label


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", required=True, type=Path, nargs="+", help="metrics.json of every run to use")
    parser.add_argument("--main-backbone", help="backbone of Table 2")
    parser.add_argument("--backbones", nargs="*", default=[], help="backbones of Table 3, in row order")
    parser.add_argument("--labels", type=parse_label, nargs="*", default=[], help="KEY=paper label pairs")
    parser.add_argument("--paper-table2", type=Path, help="resources/paper/table2_cell_level.csv")
    parser.add_argument("--paper-table3", type=Path, help="resources/paper/table3_backbones.csv")
    parser.add_argument("--table2-csv", type=Path, help="write Table 2 (cell level, main backbone) as CSV")
    parser.add_argument("--table2-md", type=Path, help="write Table 2 as Markdown")
    parser.add_argument("--table3-csv", type=Path, help="write Table 3 (every backbone) as CSV")
    parser.add_argument("--table3-md", type=Path, help="write Table 3 as Markdown")
    parser.add_argument("--runs-csv", type=Path, help="one row per run")
    parser.add_argument(
        "--dataset", type=Path, help="the dataset pointer (data/dataset.json): the tables say which data made them"
    )


def run(args: argparse.Namespace) -> None:
    if (args.table2_md or args.table3_md) and not args.dataset:
        raise ConfigError("classify-table: --dataset is needed for the Markdown tables (they name their data)")
    data = describe_data(read_pointer(args.dataset)) if args.dataset else ""
    runs = load_runs(args.metrics)
    labels = dict(args.labels)
    if args.table2_csv or args.table2_md:
        if not args.main_backbone:
            raise ConfigError("classify-table: --main-backbone is needed for Table 2")
        label = labels.get(args.main_backbone, args.main_backbone)
        rows, text = table2(runs, args.main_backbone, label, read_paper(args.paper_table2))
        if args.table2_csv:
            write_csv(args.table2_csv, rows, LONG_COLUMNS)
        if args.table2_md:
            write_table(args.table2_md, text, data)
        log.info("Table 2:\n%s", text)
    if args.table3_csv or args.table3_md:
        rows, text = table3(runs, args.backbones, labels, read_paper(args.paper_table3))
        if args.table3_csv:
            write_csv(args.table3_csv, rows, LONG_COLUMNS)
        if args.table3_md:
            write_table(args.table3_md, text, data)
        log.info("Table 3:\n%s", text)
    if args.runs_csv:
        write_csv(args.runs_csv, run_rows(runs), RUN_COLUMNS)
