"""`ctcbench crop-cache`: one crop-cache file for one split."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_threads
from ..errors import DatasetError
from .cli_options import add_dataset, add_reader, add_test_annotator
from .crops import SOURCES, CropCache, build_crop_cache
from .layout import SPLITS, DatasetLayout
from .pointer import read_pointer
from .released_crops import build_released_cache

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    parser.add_argument("--split", required=True, choices=SPLITS, help="which split's annotated cells to cut")
    add_reader(parser)
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="cut",
        help="released: the release's raw_cell_images files (train and val only); cut: from the raw images "
        "(the protocol's crop_source)",
    )
    add_test_annotator(parser)
    add_threads(parser, "images read in parallel")
    parser.add_argument("--out", required=True, type=Path, help="output .npz")


def build_cache(
    layout: DatasetLayout, split: str, reader: str, source: str, test_annotator: str = "Unioned", threads: int = 1
) -> CropCache:
    """The crop cache of a split from the release's crop files (`released`) or cut from the raw images (`cut`)."""
    image_ids = layout.read_split(split)
    if source == "released":
        return build_released_cache(layout, split, image_ids, reader, threads)
    return build_crop_cache(layout, split, image_ids, reader, test_annotator, threads)


def run(args: argparse.Namespace) -> None:
    layout = read_pointer(args.dataset).layout
    cache = build_cache(layout, args.split, args.reader, args.source, args.test_annotator, args.threads)
    if len(cache) == 0:
        raise DatasetError(f"{layout.split_file(args.split)}: no annotated cells in the {args.split} split")
    cache.save(args.out)
    images = len(set(cache.image_ids.tolist()))
    log.info("%s: %d %s crops of %d images -> %s", args.split, len(cache), args.source, images, args.out)
