"""`ctcbench validate-dataset`: check the dataset, then write the validation report and Table 1.

A dataset with errors produces no output at all (so no later rule runs on it); the full list of problems goes to
stderr, file by file, so that one run shows everything to fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli_args import add_threads
from ..errors import DatasetError
from ..io import atomic_write_json
from .cli_options import add_test_annotator
from .pointer import describe_data, read_pointer
from .table1 import dataset_counts, write_table1
from .validate import validate_dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset", required=True, type=Path, metavar="POINTER.json", help="dataset pointer written by the obtain step"
    )
    parser.add_argument(
        "--expected-size",
        type=int,
        default=None,
        metavar="N",
        help="required image side in pixels (1080 for the release); default: any size",
    )
    add_test_annotator(parser)
    parser.add_argument(
        "--headers-only",
        action="store_true",
        help="read TIFF headers only, without decoding the pixels (faster; misses truncated files)",
    )
    add_threads(parser, help="images decoded in parallel")
    parser.add_argument(
        "--allow-mixed-formats",
        action="store_true",
        help="report images whose bit depth or channel count differs from the rest of their modality as warnings, "
        "not errors (the faithful protocol reads every image as 8-bit anyway)",
    )
    parser.add_argument(
        "--report", required=True, type=Path, metavar="OUT.json", help="validation report: counts and warnings"
    )
    parser.add_argument("--table1-csv", required=True, type=Path, metavar="OUT.csv", help="Table 1 as a tidy CSV")
    parser.add_argument("--table1-md", required=True, type=Path, metavar="OUT.md", help="Table 1 as Markdown")
    parser.add_argument(
        "--paper-table1",
        type=Path,
        default=None,
        metavar="CSV",
        help="published Table 1 to show beside ours (resources/paper/table1_dataset.csv)",
    )


def run(args: argparse.Namespace) -> None:
    pointer = read_pointer(args.dataset)
    layout = pointer.layout
    report = validate_dataset(
        layout,
        expected_size=args.expected_size,
        test_annotator=args.test_annotator,
        check_pixels=not args.headers_only,
        threads=args.threads,
        allow_mixed_formats=args.allow_mixed_formats,
    )
    if report.errors or report.warnings:
        print(report.format(), file=sys.stderr)
    if not report.ok:
        count = len(report.errors)
        raise DatasetError(f"{count} problem{'' if count == 1 else 's'} found in {layout.root}; see the list above")
    counts = dataset_counts(layout, test_annotator=args.test_annotator)
    summary = {
        **report.to_dict(),
        "source": pointer.source,
        "expected_size": args.expected_size,
        "test_annotator": args.test_annotator,
        "check_pixels": not args.headers_only,
        # NA (test G/U, not annotated) becomes JSON null.
        "counts": counts.astype(object).where(counts.notna(), None).to_dict(orient="records"),
    }
    write_table1(counts, args.table1_csv, args.table1_md, paper_csv=args.paper_table1, data=describe_data(pointer))
    atomic_write_json(args.report, summary)
