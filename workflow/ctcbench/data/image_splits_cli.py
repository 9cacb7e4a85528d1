"""`ctcbench image-splits`: the image lists the workflow declares, each a released split or its images of one
patient."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .cli_options import add_dataset
from .layout import SPLITS
from .pointer import read_pointer
from .splits import image_list, write_image_list

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    parser.add_argument(
        "--lists",
        required=True,
        type=Path,
        nargs="+",
        metavar="FILE",
        help="the lists to write, each named by its content: train.txt, val.txt, test.txt, train-r06.txt (a split's "
        "images of one patient)",
    )


def run(args: argparse.Namespace) -> None:
    layout = read_pointer(args.dataset).layout
    splits = {split: layout.read_split(split) for split in SPLITS}
    for path in args.lists:
        ids = image_list(splits, path.name.removesuffix(".txt"))
        write_image_list(path, ids)
        log.info("%s: %d images", path, len(ids))
