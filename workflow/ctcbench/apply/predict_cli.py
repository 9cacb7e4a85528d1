"""`ctcbench predict`: run a bundle's pipeline on new images (docs/apply.md#predict).

A file that cannot be used (unreadable, wrong channels, without its fluorescence partner) is reported by name and
skipped; the batch goes on, and summary.csv and predict.json list every skipped file with the reason.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from ..cli_args import add_device, add_threads, add_workers
from .outputs import OVERLAY_FLOOR

log = logging.getLogger(__name__)
FORMAT = "ctcbench.predict/1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, required=True, help="a bundle folder written by `ctcbench export`")
    parser.add_argument(
        "--images",
        nargs="+",
        default=[],
        metavar="PATH",
        help="brightfield TIFFs: files, folders or glob patterns; fluorescence partners are found by name "
        "(docs/apply.md#naming)",
    )
    parser.add_argument("--pairs", type=Path, help="a CSV with columns id, brightfield, fluorescence (with or instead "
                        "of --images; relative paths from its folder)")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="output folder (docs/apply.md#outputs)")
    parser.add_argument(
        "--tile-overlap",
        type=int,
        metavar="PX",
        help="overlap of the tiles of an image larger than the training images, at least the largest cell "
        "(default: an eighth of the training image's side)",
    )
    parser.add_argument(
        "--overlay-floor",
        type=float,
        default=OVERLAY_FLOOR,
        metavar="F",
        help="boxes below the threshold are drawn (cyan) when their fused score is at least F x the threshold",
    )
    parser.add_argument("--no-overlays", action="store_true", help="write no overlay PNGs")
    add_device(parser)
    add_threads(parser)
    add_workers(parser)


def run(args: argparse.Namespace) -> None:
    import torch
    from tqdm import tqdm

    from ..errors import ConfigError, DatasetError
    from .bundle import load_bundle
    from .images import Skipped, find_images, read_pairs
    from .outputs import write_coco, write_image, write_summary
    from .predictor import Pipeline, read_input
    from .tiling import default_overlap

    if not args.images and args.pairs is None:
        raise ConfigError("no images: give --images PATH... or --pairs CSV")
    started = time.time()
    bundle = load_bundle(args.bundle)
    found = find_images(args.images, bundle.needs_fluorescence)
    if args.pairs is not None:
        read_pairs(args.pairs, bundle.needs_fluorescence, found)
    for skipped in found.skipped:
        log.warning("skipped %s: %s", skipped.path, skipped.reason)
    torch.set_num_threads(max(1, args.threads))
    overlap = default_overlap(bundle.training_size) if args.tile_overlap is None else args.tile_overlap
    pipeline = Pipeline(bundle, args.device, overlap, args.workers)
    results = []
    for image in tqdm(found.images, desc=f"predict {bundle.name}", unit="image"):
        try:
            bf, fl = read_input(image, bundle.protocol.image_read)
            result = pipeline.apply(image, bf, fl)
        except DatasetError as error:
            log.warning("skipped %s: %s", image.brightfield, error)
            found.skipped.append(Skipped(str(image.brightfield), str(error), image.image_id))
            continue
        write_image(args.out, result, bf, bundle.threshold, None if args.no_overlays else args.overlay_floor)
        results.append(result)
    write_coco(args.out, results, bundle.name, bundle.threshold)
    write_summary(args.out, results, found.skipped)
    write_record(args, bundle, pipeline, results, found.skipped, overlap, time.time() - started)
    log.info(
        "%s: %d images, %d cancer cells; %d files skipped",
        args.out,
        len(results),
        sum(r.cancer_cells for r in results),
        len(found.skipped),
    )
    if not results:
        raise DatasetError(f"{args.out}/summary.csv: no image could be used; every file was skipped (reasons there)")


def write_record(args, bundle, pipeline, results, skipped, overlap: int, wall_time: float) -> None:
    """predict.json: what made these outputs and what was left out."""
    import math

    from .. import provenance
    from ..io import atomic_write_json
    from .bundle import MANIFEST

    threshold = bundle.threshold
    atomic_write_json(
        args.out / "predict.json",
        {
            "format": FORMAT,
            "bundle": {
                "path": str(bundle.root),
                "name": bundle.name,
                "manifest_sha256": provenance.file_sha256(bundle.root / MANIFEST),
                "protocol": bundle.protocol.name,
                "setting": bundle.setting,
                "omega": bundle.omega,
                "threshold": None if math.isinf(threshold) else threshold,
                "warnings": list(bundle.warnings),
            },
            "images": len(results),
            "cancer_cells": sum(r.cancer_cells for r in results),
            "skipped": [{"path": s.path, "image_id": s.image_id, "reason": s.reason} for s in skipped],
            "tile_overlap": overlap,
            "device": provenance.device_info(str(pipeline.scorer.device)),
            "versions": provenance.versions(),
            "wall_time_s": round(wall_time, 1),
        },
    )
