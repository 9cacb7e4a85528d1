"""`ctcbench audit-dataset`: check on the staged dataset the facts docs/dataset.md#facts-to-verify leaves to verify;
write audit.json and audit.md.

The audit reports, it does not judge: it exits 0 whenever it could run, whatever the verdicts, and fails (one
line, exit 1) only when the dataset pointer or the root it names is unusable.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ..errors import DatasetError
from ..io import atomic_write_json, atomic_write_text
from .audit import VERDICT_TEXT, audit_dataset
from .cli_options import add_dataset
from .pointer import DatasetPointer, read_pointer
from .table1 import read_paper_table1

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    parser.add_argument(
        "--crops",
        type=int,
        default=200,
        metavar="N",
        help="released crop files compared per split, a seeded sample (default 200; 0 = all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the crop sample (default 0)")
    parser.add_argument(
        "--headers",
        type=int,
        default=3,
        metavar="N",
        help="images (and released crops) per split and modality whose TIFF header is read (default 3)",
    )
    parser.add_argument(
        "--paper-table1",
        type=Path,
        default=None,
        metavar="CSV",
        help="published Table 1 to show beside the counts (resources/paper/table1_dataset.csv)",
    )
    parser.add_argument("--json", required=True, type=Path, metavar="OUT.json", help="machine-readable audit")
    parser.add_argument("--md", required=True, type=Path, metavar="OUT.md", help="short human summary")


def _pointer(path: Path) -> DatasetPointer:
    """The pointer, with a malformed file reported as one line like a missing one."""
    try:
        return read_pointer(path)
    except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
        reason = f"no {exc} field" if isinstance(exc, KeyError) else f"not a dataset pointer ({exc})"
        raise DatasetError(f"{path}: {reason}; rewrite it with the data stage (snakemake ... obtain)") from None


def run(args: argparse.Namespace) -> None:
    if args.crops < 0 or args.headers < 0:
        raise DatasetError("--crops and --headers must be >= 0")
    pointer = _pointer(args.dataset)
    paper = read_paper_table1(args.paper_table1) if args.paper_table1 is not None else None
    report = audit_dataset(
        pointer.layout,
        crops_per_split=args.crops,
        seed=args.seed,
        headers_per_split=args.headers,
        paper=paper,
        source=pointer.source,
    )
    data = report.to_dict()
    json.dumps(data)  # fail before writing anything if something is not serialisable
    atomic_write_json(args.json, data)
    atomic_write_text(args.md, report.markdown())
    for check in report.checks:
        log.info("%s: %s", check.title, VERDICT_TEXT[check.verdict])
