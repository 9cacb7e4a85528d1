"""Command-line options that commands of every stage share, declared once so they read the same everywhere.

Options about the dataset (its pointer, image lists, the test annotator) live with the data stage
(`data.cli_options`); this module stays below every stage and imports none of them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import protocol as protocols
from .errors import ConfigError


def protocol_value(text: str) -> protocols.Protocol:
    """argparse type: a preset name or a name with overrides (`faithful,fusion_gate=null`)."""
    try:
        return protocols.parse(text, "--protocol")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_protocol(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--protocol",
        type=protocol_value,
        required=required,
        default=None if required else protocols.FAITHFUL,
        metavar="PROTOCOL",
        help=(
            "faithful (as the original code), corrected (each defect fixed), or a preset with switches overridden: "
            "faithful,fusion_gate=null (switches: docs/protocol.md#switches)"
        ),
    )


NMS_IOU = 0.5  # the original's class-agnostic NMS IoU of the image-level evaluation (config pipeline.nms_iou)


def add_nms_iou(parser: argparse.ArgumentParser, which: str) -> None:
    parser.add_argument("--nms-iou", type=float, default=NMS_IOU, help=f"IoU of the class-agnostic NMS {which}")


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda[:N]")


def add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")


def add_threads(parser: argparse.ArgumentParser, help: str = "CPU threads") -> None:
    parser.add_argument("--threads", type=int, default=1, metavar="N", help=help)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1")
    return value


def add_jobs_per_gpu(parser: argparse.ArgumentParser) -> None:
    """How many jobs of this command may share one GPU of a local pool (ctcbench.device_slots)."""
    parser.add_argument(
        "--jobs-per-gpu",
        type=positive_int,
        default=1,
        metavar="N",
        help="with a local GPU pool, share a GPU with up to N-1 other jobs that also share (1: a GPU of its own)",
    )


def add_per_image(parser: argparse.ArgumentParser) -> None:
    """Where an evaluation writes the per-image record of its metrics (ctcbench.per_image)."""
    parser.add_argument(
        "--per-image",
        type=Path,
        help="output: what each image contributed, to recompute the metrics on resampled images "
        "(default: beside --out, metrics*.json -> per_image*.npz)",
    )
