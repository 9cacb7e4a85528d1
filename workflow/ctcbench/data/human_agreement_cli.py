"""`ctcbench human-agreement`: how far the two experts' test annotations agree (data/agreement.py)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_protocol
from .cli_options import add_dataset, add_image_list

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    add_image_list(parser, "test image ids")
    add_protocol(parser)
    parser.add_argument("--out", type=Path, required=True, help="output: agreement.json")


def run(args: argparse.Namespace) -> None:
    from ..io import atomic_write_json
    from .agreement import agreement
    from .pointer import read_pointer
    from .splits import read_image_list

    record = agreement(read_pointer(args.dataset).layout, read_image_list(args.image_list), args.protocol)
    atomic_write_json(args.out, record)
    for pair in record["pairs"]:
        log.info("%s vs %s: F1 %.3f (P %.3f, R %.3f)", pair["annotator"], pair["reference"], pair["f1"],
                 pair["precision"], pair["recall"])  # fmt: skip
