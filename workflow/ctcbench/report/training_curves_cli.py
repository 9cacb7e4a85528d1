"""`ctcbench training-curves`: the loss and val-accuracy curves of every training run, as PNG and CSV."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs", type=Path, nargs="+", required=True,
        help="run.json of every classifier and detector run; curves.csv is read from beside each",
    )  # fmt: skip
    parser.add_argument("--classify-png", type=Path, required=True, help="output: the classifiers' curves")
    parser.add_argument("--detect-png", type=Path, required=True, help="output: the detectors' curves")
    parser.add_argument("--csv", type=Path, required=True, help="output: the plotted numbers")


def run(args: argparse.Namespace) -> None:
    from .curves import write_curve_figures

    write_curve_figures(args.runs, {"classify": args.classify_png, "detect": args.detect_png}, args.csv)
    log.info("training curves of %d runs: %s, %s, %s", len(args.runs), args.classify_png, args.detect_png, args.csv)
