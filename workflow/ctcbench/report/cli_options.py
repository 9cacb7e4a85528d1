"""Command-line options of the table commands (`table`, `table-comparisons`), declared once: which table, from which
records, with which bootstrap, written where."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..cli_args import positive_int
from ..data.cli_options import add_dataset
from ..errors import ConfigError
from .bootstrap import Bootstrap

DEFAULT = Bootstrap()


def add_table_inputs(parser: argparse.ArgumentParser) -> None:
    """The table, its parameters, the records of its runs and the dataset."""
    parser.add_argument("--name", required=True, help="the table (report.table_specs.TABLES), e.g. table4_image_level")
    parser.add_argument(
        "--params", default="{}", help="what the config decides about the table, as JSON (the workflow generates it)"
    )
    parser.add_argument("--metrics", required=True, type=Path, nargs="+", help="metrics.json of every run it reads")
    parser.add_argument(
        "--per-image",
        type=Path,
        nargs="*",
        default=[],
        help="the per-image records beside those metrics (per_image*.npz): each cell whose runs all have one gets "
        "its bootstrap interval",
    )
    add_dataset(parser)


def add_bootstrap(parser: argparse.ArgumentParser) -> None:
    """config report.bootstrap."""
    parser.add_argument("--resamples", type=positive_int, default=DEFAULT.resamples, help="bootstrap resamples")
    parser.add_argument("--bootstrap-seed", type=int, default=DEFAULT.seed, help="seed of the resampling")
    parser.add_argument("--level", type=float, default=DEFAULT.level, help="level of the intervals")


def add_table_outputs(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--csv", required=True, type=Path, help=f"output: {what} as CSV")
    parser.add_argument("--md", required=True, type=Path, help=f"output: {what} as Markdown (and .html beside it)")


def table_spec(name: str):
    """The spec of a result table (report.table_specs), or an error listing them."""
    from .table_specs import TABLES

    if name not in TABLES:
        raise ConfigError(f"table {name!r}: expected one of {', '.join(TABLES)}")
    return TABLES[name]


def table_params(text: str) -> dict[str, Any]:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"table --params is not valid JSON ({exc})") from None


def bootstrap_of(args: argparse.Namespace) -> Bootstrap:
    return Bootstrap(args.resamples, args.bootstrap_seed, args.level)
