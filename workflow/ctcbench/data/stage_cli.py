"""`ctcbench stage-local`: point the workflow at a copy of the figshare release that is already on disk."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import DatasetError
from .fetch import ROOT_MARKERS
from .pointer import write_pointer

_ALTERNATIVES = "or set `dataset.source: synth` (synthetic twin) or `dataset.source: figshare` (ctcbench fetch)"


def check_local_root(root: Path) -> Path:
    """The root must be a directory holding Annotations/ and raw_images_for_model/."""
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset root does not exist; point it at a copy of the release, {_ALTERNATIVES}")
    missing = [f"{marker}/" for marker in ROOT_MARKERS if not (root / marker).is_dir()]
    if missing:
        raise DatasetError(
            f"{root}: not a dataset root, missing {', '.join(missing)}; point it at the directory holding "
            f"{' and '.join(f'{m}/' for m in ROOT_MARKERS)}, {_ALTERNATIVES}"
        )
    return root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", type=Path, required=True, help="directory holding Annotations/ and raw_images_for_model/"
    )
    parser.add_argument("--pointer", type=Path, required=True, help="write the dataset pointer JSON here")


def run(args: argparse.Namespace) -> None:
    root = check_local_root(args.root)
    write_pointer(args.pointer, root, "local")
