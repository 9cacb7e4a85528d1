"""Command-line options about the dataset that commands of every stage share: the pointer, an image list, the test
annotator and the image reader, declared once so they read the same everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from .imageio import READERS
from .layout import TEST_ANNOTATORS


def add_dataset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset", type=Path, required=True, help="dataset pointer (results/<preset>/data/dataset.json)"
    )


def add_image_list(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--image-list", type=Path, required=True, help=f"{what} (a text file, one id per line)")


def add_test_annotator(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--test-annotator",
        choices=TEST_ANNOTATORS,
        default="Unioned",
        help="test ground truth folder under Annotations/test",
    )


def add_reader(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reader",
        choices=READERS,
        required=True,
        help="opencv: as OpenCV's default imread (8-bit BGR); native: full bit depth (the protocol's image_read)",
    )
