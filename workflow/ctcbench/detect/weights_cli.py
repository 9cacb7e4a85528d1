"""`ctcbench detect-weights`: stage one pretrained weight file under resources/weights/, verified by checksum."""

from __future__ import annotations

import argparse
from pathlib import Path

from .weights import WEIGHT_TITLES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", required=True, choices=sorted(WEIGHT_TITLES), help="detect.weights.<key>")
    parser.add_argument("--out", type=Path, required=True, help="where it goes (detect.weights.<key>.file)")
    parser.add_argument("--source", default=None, help="a local path or URL to copy it from")
    parser.add_argument("--url", default=None, help="the download URL when no source is given")
    parser.add_argument("--sha256", default=None, help="full sha256; default: the hash prefix in the file name")


def run(args: argparse.Namespace) -> None:
    from .weights import stage

    entry = {"file": str(args.out), "source": args.source, "url": args.url, "sha256": args.sha256}
    stage(entry, args.key, args.out)
