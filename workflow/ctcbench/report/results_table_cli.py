"""`ctcbench results-table`: every finished run's numbers in one long table, results.csv (report.results)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", required=True, type=Path, nargs="+", help="metrics.json of every run (any stage)")
    parser.add_argument("--out", required=True, type=Path, help="output: results.csv")


def run(args: argparse.Namespace) -> None:
    from .results import Results

    results = Results.load(args.metrics)
    results.write(args.out)
    log.info("%s: %d rows from %d runs", args.out, len(results.rows), len(args.metrics))
