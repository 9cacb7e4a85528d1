"""`ctcbench pipeline-table`: Tables 4, 5 and 6 (image level, test) beside the paper's numbers."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..classify.table import read_paper_rows
from ..data.pointer import describe_data, read_pointer
from ..markup import write_table
from ..tables import write_csv
from .table import COLUMNS, load_image_runs, table4, table5, table6

log = logging.getLogger(__name__)

OUTPUTS = {"4": "table4_image_level", "5": "table5_unknown_cells", "6": "table6_patients"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", required=True, type=Path, nargs="+", help="detection and pipeline metrics.json")
    parser.add_argument("--omegas", type=float, nargs="+", default=[1.0, 0.7], help="Table 4's fusion weights")
    parser.add_argument("--ablation-omega", type=float, default=0.7, help="the fusion weight of Tables 5 and 6")
    parser.add_argument("--unknown", nargs=2, metavar=("DETECTOR", "SETTING"), help="Table 5's detector and setting")
    parser.add_argument("--strategies", nargs="*", default=[], help="Table 5's unknown-cell training sets")
    parser.add_argument("--patients", nargs=2, metavar=("DETECTOR", "SETTING"), help="Table 6's detector and setting")
    parser.add_argument("--patient-ids", nargs="*", default=[], help="Table 6's patients, in the paper's order")
    parser.add_argument("--paper-dir", type=Path, help="resources/paper (the published tables)")
    parser.add_argument(
        "--dataset", required=True, type=Path, help="the dataset pointer (data/dataset.json), named in the tables"
    )
    parser.add_argument("--out-dir", required=True, type=Path, help="writes table{4,5,6}_*.csv and .md here")


def _paper(args: argparse.Namespace, table: str) -> list[dict[str, str]]:
    return read_paper_rows(args.paper_dir / f"{OUTPUTS[table]}.csv" if args.paper_dir else None)


def run(args: argparse.Namespace) -> None:
    data = describe_data(read_pointer(args.dataset))
    runs = load_image_runs(args.metrics)
    tables = {"4": table4(runs, args.omegas, _paper(args, "4"))}
    if args.unknown:
        tables["5"] = table5(runs, *args.unknown, args.strategies, args.ablation_omega, _paper(args, "5"))
    if args.patients:
        tables["6"] = table6(runs, *args.patients, args.patient_ids, args.ablation_omega, _paper(args, "6"))
    for table, (rows, text) in tables.items():
        write_csv(args.out_dir / f"{OUTPUTS[table]}.csv", rows, COLUMNS)
        write_table(args.out_dir / f"{OUTPUTS[table]}.md", text, data)
        log.info("Table %s:\n%s", table, text)
