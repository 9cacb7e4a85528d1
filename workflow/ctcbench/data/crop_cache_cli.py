"""`ctcbench crop-cache`: one crop-cache file for one split."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from pathlib import Path

from ..cli_args import add_threads
from ..errors import DatasetError
from .cli_options import add_dataset, add_reader, add_test_annotator
from .crop_writer import CropCacheWriter
from .crops import SOURCES, CropCache, CropRow, cut_crops
from .layout import SPLITS, DatasetLayout
from .pointer import read_pointer
from .released_crops import released_rows

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


def crop_rows(
    layout: DatasetLayout, split: str, reader: str, source: str, test_annotator: str = "Unioned", threads: int = 1
) -> Iterator[CropRow]:
    """The crops of a split from the release's crop files (`released`) or cut from the raw images (`cut`)."""
    image_ids = layout.read_split(split)
    if source == "released":
        return released_rows(layout, split, image_ids, reader, threads)
    return cut_crops(layout, split, image_ids, reader, test_annotator, threads)


def build_cache(
    layout: DatasetLayout, split: str, reader: str, source: str, test_annotator: str = "Unioned", threads: int = 1
) -> CropCache:
    """The crop cache of a split in memory (the command writes the same cache image by image)."""
    return CropCache.from_rows(crop_rows(layout, split, reader, source, test_annotator, threads), reader, split, source)


def run(args: argparse.Namespace) -> None:
    layout = read_pointer(args.dataset).layout
    rows = crop_rows(layout, args.split, args.reader, args.source, args.test_annotator, args.threads)
    with CropCacheWriter(args.out, args.reader, args.split, args.source) as writer:
        writer.add_all(rows)
        if writer.count == 0:
            raise DatasetError(f"{layout.split_file(args.split)}: no annotated cells in the {args.split} split")
    log.info("%s: %d %s crops of %d images -> %s", args.split, writer.count, args.source, writer.images, args.out)
