"""`ctcbench kfold-roc`: the ROC curves of the k-fold track's folds and test part (PNG and the plotted points)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scores", required=True, nargs="+", type=Path, help="scores.csv of every k-fold run")
    parser.add_argument("--png", required=True, type=Path, help="the figure")
    parser.add_argument("--csv", required=True, type=Path, help="the points it plots")


def run(args: argparse.Namespace) -> None:
    from ..tables import write_csv
    from .common import save_png
    from .kfold_roc import ROC_COLUMNS, read_curves, roc_figure, roc_rows, run_of

    runs = [(run_of(path), read_curves(path)) for path in args.scores]
    write_csv(args.csv, [row for run, curves in runs for row in roc_rows(run, curves)], ROC_COLUMNS)
    save_png(roc_figure(runs), args.png)
