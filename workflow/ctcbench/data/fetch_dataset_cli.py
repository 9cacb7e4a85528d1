"""`ctcbench fetch-dataset`: download the dataset from figshare, verify and extract it, and write the dataset
pointer."""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from .archive import DEFAULT_MAX_BYTES, DEFAULT_MAX_RATIO
from .fetch import ARTICLE_ID, ARTICLE_VERSION, MANIFEST_NAME, fetch_dataset
from .figshare import DEFAULT_API
from .pointer import write_pointer

log = logging.getLogger(__name__)

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def byte_count(text: str) -> int:
    """`123`, `500M`, `200G`, `1TiB`: sizes in bytes with binary K/M/G/T suffixes."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 500M or 200G")
    return int(match[1]) * _UNITS[match[2]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", default=DEFAULT_API, help="figshare API base URL (default: %(default)s)")
    parser.add_argument("--article", type=int, default=ARTICLE_ID, help="figshare article id (default: %(default)s)")
    parser.add_argument("--version", type=int, default=ARTICLE_VERSION, help="article version (default: %(default)s)")
    parser.add_argument("--dest", type=Path, required=True, help="directory for downloads, manifest and extraction")
    parser.add_argument(
        "--pinned-manifest",
        type=Path,
        help="manifest the file list must match (names, sizes, md5); ignored if the file does not exist",
    )
    parser.add_argument("--pointer", type=Path, help="write the dataset pointer JSON here")
    parser.add_argument("--retries", type=int, default=4, help="retries per request after the first try (default: 4)")
    parser.add_argument(
        "--retry-delay", type=float, default=2.0, help="first retry delay in seconds, doubled each time (default: 2)"
    )
    parser.add_argument(
        "--max-extract-bytes",
        type=byte_count,
        default=DEFAULT_MAX_BYTES,
        help="cap on the total uncompressed size of the archives, e.g. 64G (default: 64G); the free disk space "
        "is a cap too",
    )
    parser.add_argument(
        "--max-compression-ratio",
        type=float,
        default=DEFAULT_MAX_RATIO,
        metavar="R",
        help="refuse an archive that unpacks to more than R times its own size (default: %(default)g)",
    )


def run(args: argparse.Namespace) -> None:
    pinned = args.pinned_manifest
    if pinned is not None and not pinned.is_file():
        log.info("%s: no pinned manifest yet; the file list is not checked against one", pinned)
        pinned = None
    root = fetch_dataset(
        args.api,
        args.article,
        args.version,
        args.dest,
        pinned,
        max_attempts=max(args.retries, 0) + 1,
        base_delay=args.retry_delay,
        max_extract_bytes=args.max_extract_bytes,
        max_compression_ratio=args.max_compression_ratio,
    )
    if args.pointer is not None:
        manifest = (args.dest / MANIFEST_NAME).resolve()
        write_pointer(
            args.pointer, root, "figshare", article=args.article, version=args.version, manifest=str(manifest)
        )
