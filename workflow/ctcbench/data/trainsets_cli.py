"""`ctcbench trainsets`: crop-level training sets (main, per patient, fractions, unknown-cell variants)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..io import atomic_write_json
from .crops import CropCache
from .splits import records_from_cache, trainset_lists, write_trainset

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", required=True, type=Path, help="crop cache of the training split")
    parser.add_argument("--out-dir", required=True, type=Path, help="folder for <trainset>.tsv files")
    parser.add_argument("--fractions", type=float, nargs="*", default=[], help="training fractions, e.g. 0.05 0.5")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], help="one subsample per seed")
    parser.add_argument(
        "--stratified", action="store_true", help="stratify fractions by class and patient (corrected protocol)"
    )
    parser.add_argument("--summary", type=Path, help="JSON with the size and class counts of every set")


def run(args: argparse.Namespace) -> None:
    cache = CropCache.load(args.cache)
    records = records_from_cache(cache.keys, cache.labels, cache.image_ids)
    summary = {}
    for name, chosen in trainset_lists(records, args.fractions, args.seeds, args.stratified).items():
        write_trainset(args.out_dir / f"{name}.tsv", chosen)
        counts = {label: sum(r.label == label for r in chosen) for label in ("R", "G", "U")}
        summary[name] = {"crops": len(chosen), **counts}
        log.info("%s: %d crops %s", name, len(chosen), counts)
    if args.summary:
        atomic_write_json(args.summary, summary)
