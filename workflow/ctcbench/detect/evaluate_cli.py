"""`ctcbench detect-evaluate`: detection-stage AP50 and best F1 of a run's test predictions (metrics.json)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_nms_iou, add_per_image, add_protocol
from ..data.cli_options import add_dataset, add_image_list, add_test_annotator

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    add_image_list(parser, "test image ids")
    parser.add_argument(
        "--predictions",
        type=Path,
        required=True,
        help="predictions.json written by detect-predict (detections made elsewhere: `ctcbench score`)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output: metrics.json")
    add_per_image(parser)
    add_test_annotator(parser)
    add_protocol(parser)
    add_nms_iou(parser, "before matching")
    parser.add_argument(
        "--val-predictions",
        type=Path,
        help="predictions.json of the same model on the val images (protocols with image_threshold: heldout)",
    )
    parser.add_argument("--val-list", type=Path, help="the val image ids (with --val-predictions)")


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..errors import ConfigError
    from ..per_image import per_image_path, write_evaluation
    from .evaluate import detection_stage_evaluation
    from .predictions import read_predictions

    if (args.val_predictions is None) != (args.val_list is None):
        raise ConfigError("detect-evaluate: --val-predictions and --val-list go together")
    val = None
    if args.val_predictions is not None:
        val = (read_predictions(args.val_predictions), read_image_list(args.val_list))
    evaluation = detection_stage_evaluation(
        read_predictions(args.predictions),
        read_pointer(args.dataset).layout,
        read_image_list(args.image_list),
        args.test_annotator,
        args.protocol,
        args.nms_iou,
        val,
    )
    metrics = write_evaluation(evaluation, args.out, args.per_image or per_image_path(args.out))
    log.info("%s: AP50 %.3f, best F1 %.3f", metrics["run"] or args.predictions, metrics["ap50"], metrics["best_f1"])
