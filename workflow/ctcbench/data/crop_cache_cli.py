"""`ctcbench crop-cache`: one crop-cache file for one split."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_threads
from ..errors import DatasetError
from .cli_options import add_dataset, add_reader, add_test_annotator
from .crops import build_crop_cache
from .layout import SPLITS
from .pointer import read_pointer

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    parser.add_argument("--split", required=True, choices=SPLITS, help="which split's annotated cells to cut")
    add_reader(parser)
    add_test_annotator(parser)
    add_threads(parser, "images read in parallel")
    parser.add_argument("--out", required=True, type=Path, help="output .npz")


def run(args: argparse.Namespace) -> None:
    layout = read_pointer(args.dataset).layout
    image_ids = layout.read_split(args.split)
    cache = build_crop_cache(layout, args.split, image_ids, args.reader, args.test_annotator, args.threads)
    if len(cache) == 0:
        raise DatasetError(f"{layout.split_file(args.split)}: no annotated cells in the {args.split} split")
    cache.save(args.out)
    log.info("%s: %d crops from %d images -> %s", args.split, len(cache), len(image_ids), args.out)
