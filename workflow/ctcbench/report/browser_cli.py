"""`ctcbench report-browser-check`: open the Snakemake HTML report in Chromium and check that every result renders.

With `--expect`, each named result (e.g. table4_image_level.html) must be among those that rendered.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", type=Path, required=True, help="the report (snakemake --report FILE.html)")
    parser.add_argument("--screenshots", type=Path, required=True, help="folder for one screenshot per opened result")
    parser.add_argument("--expect", nargs="*", default=[], metavar="NAME", help="results that must be present")
    parser.add_argument("--chromium", help="the browser executable (default: chromium found on PATH)")


def run(args: argparse.Namespace) -> None:
    from .browser import BrowserCheckError, check_report

    rendered = check_report(args.report, args.screenshots, args.chromium)
    missing = sorted(set(args.expect) - {r.name for r in rendered})
    if missing:
        raise BrowserCheckError(f"{args.report}: expected results not in the report: {', '.join(missing)}")
    print(f"{args.report}: {len(rendered)} results rendered in Chromium; screenshots in {args.screenshots}")
