"""`ctcbench defect-effects`: the defect-effects table (CSV, Markdown and its HTML page): each protocol switch flipped
from each endpoint, variant − endpoint with its paired bootstrap interval (report.defect_effects,
docs/metrics.md#defect-effects). Rule defect_effects passes the resolved config, whose plan names every run read; a
spec JSON file (report.defect_effects.defect_spec) does as well."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .cli_options import add_bootstrap

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--config-json", help="the resolved config as JSON (what rule defect_effects passes): its plan's variants"
    )
    source.add_argument(
        "--spec", type=Path, help="or: the variants' and endpoints' metrics.json per switch, setting and seed (JSON; "
        "report.defect_effects.defect_spec)"
    )  # fmt: skip
    parser.add_argument("--results", help="with --config-json: its results folder, results/<preset>")
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
    from .defect_effects import COLUMNS, TITLE, render

    rows, text = render(spec_of(args), bootstrap_of(args))
    write_csv(args.out_csv, rows, COLUMNS)
    data = describe_data(read_pointer(args.dataset)) if args.dataset else "the runs listed in " + str(args.spec)
    write_table(args.out_md, text, data, TITLE)
    log.info("%s:\n%s", TITLE, text)


def spec_of(args: argparse.Namespace):
    """The spec: from the config's plan (--config-json, --results) or from a spec file (--spec)."""
    from ..errors import ConfigError
    from .defect_effects import defect_spec, parse_spec, read_spec

    if args.spec is not None:
        return read_spec(args.spec)
    if not args.results:
        raise ConfigError("--config-json needs --results, the config's results/<preset> folder")
    return parse_spec(defect_spec(json.loads(args.config_json), args.results), "--config-json")
