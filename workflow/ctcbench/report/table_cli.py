"""`ctcbench table`: one result table (CSV, Markdown and its HTML page) from the metrics of the runs that feed it,
beside the paper's numbers, with each cell's bootstrap interval from the runs' per-image records (the tables:
report.table_specs; the intervals: report.intervals)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .cli_options import add_bootstrap, add_table_inputs, add_table_outputs

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_table_inputs(parser)
    parser.add_argument("--paper-dir", type=Path, help="resources/paper (the published tables)")
    add_bootstrap(parser)
    add_table_outputs(parser, "the table")


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import SYNTH, describe_data, read_pointer
    from ..markup import write_table
    from ..tables import read_paper_rows, write_csv
    from .cli_options import bootstrap_of, table_params, table_spec
    from .intervals import Intervals
    from .results import Results
    from .views import render

    spec = table_spec(args.name)
    params = table_params(args.params)
    paper = read_paper_rows(args.paper_dir / spec.paper_file if args.paper_dir and spec.paper_file else None)
    intervals = Intervals.load(args.per_image, bootstrap_of(args))
    pointer = read_pointer(args.dataset)
    # Ours − paper is shown only for the release: the twin's numbers are not comparable with the paper's.
    deltas = pointer.source != SYNTH
    rows, text = (spec.writer or render)(spec, params, Results.load(args.metrics), paper, intervals, deltas)
    write_csv(args.csv, rows, spec.columns)
    write_table(args.md, text, describe_data(pointer), spec.title)
    log.info("%s:\n%s", spec.title, text)
