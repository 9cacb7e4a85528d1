"""`ctcbench table`: one result table (CSV, Markdown and its HTML page) from the metrics of the runs that feed it,
beside the paper's numbers (the tables: report.table_specs)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ..data.cli_options import add_dataset
from ..errors import ConfigError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="the table (report.table_specs.TABLES), e.g. table4_image_level")
    parser.add_argument(
        "--params", default="{}", help="what the config decides about the table, as JSON (the workflow generates it)"
    )
    parser.add_argument("--metrics", required=True, type=Path, nargs="+", help="metrics.json of every run it reads")
    parser.add_argument("--paper-dir", type=Path, help="resources/paper (the published tables)")
    add_dataset(parser)
    parser.add_argument("--csv", required=True, type=Path, help="output: the table as CSV")
    parser.add_argument("--md", required=True, type=Path, help="output: the table as Markdown (and .html beside it)")


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import describe_data, read_pointer
    from ..markup import write_table
    from ..tables import read_paper_rows, write_csv
    from .results import Results
    from .table_specs import TABLES
    from .views import render

    if args.name not in TABLES:
        raise ConfigError(f"table {args.name!r}: expected one of {', '.join(TABLES)}")
    spec = TABLES[args.name]
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"table --params is not valid JSON ({exc})") from None
    paper = read_paper_rows(args.paper_dir / spec.paper_file if args.paper_dir and spec.paper_file else None)
    rows, text = render(spec, params, Results.load(args.metrics), paper)
    write_csv(args.csv, rows, spec.columns)
    write_table(args.md, text, describe_data(read_pointer(args.dataset)), spec.title)
    log.info("%s:\n%s", spec.title, text)
