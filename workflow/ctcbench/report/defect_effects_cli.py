"""`ctcbench defect-effects`: the defect-effects table (CSV, Markdown and its HTML page) from the spec JSON of rule
defect_effects: each protocol switch flipped from each endpoint, variant − endpoint with its paired bootstrap
interval (report.defect_effects, docs/metrics.md#defect-effects)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .cli_options import add_bootstrap

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec", required=True, type=Path, help="the variants' and endpoints' metrics.json per switch, setting and "
        "seed (JSON; report.defect_effects.defect_spec, written by the workflow)"
    )  # fmt: skip
    add_bootstrap(parser)
    parser.add_argument(
        "--dataset", type=Path, help="dataset pointer (results/<preset>/data/dataset.json), named under the table"
    )
    parser.add_argument("--out-csv", required=True, type=Path, help="output: the table as CSV")
    parser.add_argument(
        "--out-md", required=True, type=Path, help="output: the table as Markdown (and its HTML page beside it)"
    )


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import describe_data, read_pointer
    from ..markup import write_table
    from ..tables import write_csv
    from .cli_options import bootstrap_of
    from .defect_effects import COLUMNS, TITLE, read_spec, render

    rows, text = render(read_spec(args.spec), bootstrap_of(args))
    write_csv(args.out_csv, rows, COLUMNS)
    data = describe_data(read_pointer(args.dataset)) if args.dataset else "the runs listed in " + str(args.spec)
    write_table(args.out_md, text, data, TITLE)
    log.info("%s:\n%s", TITLE, text)
