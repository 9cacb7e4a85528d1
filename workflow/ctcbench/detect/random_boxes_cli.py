"""`ctcbench random-boxes`: one draw of random boxes on the test images, evaluated as a detector's predictions, a
control of the image-level results (metrics.json and its per-image record; docs/metrics.md#controls)."""

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
    parser.add_argument("--seed", type=int, required=True, help="the draw's seed (config report.controls.random_seeds)")
    parser.add_argument(
        "--val-list", type=Path, help="the val image ids: a draw there chooses the threshold (image_threshold: heldout)"
    )
    add_test_annotator(parser)
    add_protocol(parser)
    add_nms_iou(parser, "before matching")
    parser.add_argument("--out", type=Path, required=True, help="output: metrics.json")
    add_per_image(parser)


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..per_image import per_image_path, write_evaluation
    from .random_boxes import random_boxes_evaluation

    evaluation = random_boxes_evaluation(
        read_pointer(args.dataset).layout,
        read_image_list(args.image_list),
        args.seed,
        args.protocol,
        annotator=args.test_annotator,
        nms_iou=args.nms_iou,
        val_ids=None if args.val_list is None else read_image_list(args.val_list),
    )
    metrics = write_evaluation(evaluation, args.out, args.per_image or per_image_path(args.out))
    log.info("%s: AP50 %.3f, best F1 %.3f", metrics["control"], metrics["ap50"], metrics["best_f1"])
