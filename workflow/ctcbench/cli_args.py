"""Command-line options that several `ctcbench` commands share, declared once so they read the same everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from .data.imageio import PROTOCOLS
from .data.layout import TEST_ANNOTATORS


def add_dataset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset", type=Path, required=True, help="dataset pointer (results/<preset>/data/dataset.json)"
    )


def add_image_list(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--image-list", type=Path, required=True, help=f"{what} (a text file, one id per line)")


def add_protocol(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        required=required,
        default=None if required else "faithful",
        help="faithful: as the original code (8-bit OpenCV reads, its thresholds); corrected: the fixed protocol",
    )


def add_test_annotator(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--test-annotator",
        choices=TEST_ANNOTATORS,
        default="Unioned",
        help="test ground truth folder under Annotations/test",
    )


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda[:N]")


def add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")


def add_threads(parser: argparse.ArgumentParser, help: str = "CPU threads") -> None:
    parser.add_argument("--threads", type=int, default=1, metavar="N", help=help)
