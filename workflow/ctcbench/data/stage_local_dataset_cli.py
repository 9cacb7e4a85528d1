"""`ctcbench stage-local-dataset`: point the workflow at a copy of the figshare release that is already on disk."""

from __future__ import annotations

import argparse
from pathlib import Path

from .layout import check_dataset_root
from .pointer import write_pointer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", type=Path, required=True, help="directory holding Annotations/ and raw_images_for_model/"
    )
    parser.add_argument("--pointer", type=Path, required=True, help="write the dataset pointer JSON here")


def run(args: argparse.Namespace) -> None:
    root = check_dataset_root(args.root)
    write_pointer(args.pointer, root, "local")
