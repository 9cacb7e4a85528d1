"""`ctcbench detect-evaluate`: detection-stage AP50 and best F1 of a run's test predictions (metrics.json)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_dataset, add_image_list, add_protocol, add_test_annotator

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    add_image_list(parser, "test image ids")
    parser.add_argument("--predictions", type=Path, required=True, help="predictions.json written by detect-predict")
    parser.add_argument("--out", type=Path, required=True, help="output: metrics.json")
    add_test_annotator(parser)
    add_protocol(parser)
    parser.add_argument("--nms-iou", type=float, default=0.5, help="IoU of the class-agnostic NMS before matching")


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..io import atomic_write_json
    from .evaluate import detection_stage_metrics
    from .predictions import read_predictions

    metrics = detection_stage_metrics(
        read_predictions(args.predictions), read_pointer(args.dataset).layout, read_image_list(args.image_list),
        args.test_annotator, args.protocol, args.nms_iou,
    )
    atomic_write_json(args.out, metrics)
    log.info("%s: AP50 %.3f, best F1 %.3f", metrics["run"], metrics["ap50"], metrics["best_f1"])
