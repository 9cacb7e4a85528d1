"""`ctcbench splits`: image lists per split, and per patient for the training split."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .cli_options import add_dataset
from .layout import SPLITS
from .pointer import read_pointer
from .splits import image_split_lists, write_image_list

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    parser.add_argument("--out-dir", required=True, type=Path, help="folder for <list>.txt files")


def run(args: argparse.Namespace) -> None:
    layout = read_pointer(args.dataset).layout
    lists = image_split_lists({split: layout.read_split(split) for split in SPLITS})
    for name, ids in lists.items():
        write_image_list(args.out_dir / f"{name}.txt", ids)
        log.info("%s: %d images", name, len(ids))
