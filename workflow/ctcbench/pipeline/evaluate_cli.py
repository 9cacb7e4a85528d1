"""`ctcbench pipeline-evaluate`: image-level AP50 and best F1 of a detector + classifier pairing at one ω
(metrics.json)."""

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
    parser.add_argument("--scores", type=Path, required=True, help="scores.json of the test proposals")
    parser.add_argument("--omega", type=float, required=True, help="weight of S_cls in the fused score, in [0, 1]")
    add_protocol(parser)
    add_nms_iou(parser, "after fusion")
    add_test_annotator(parser)
    parser.add_argument(
        "--val-scores",
        type=Path,
        help="scores.json of the same runs on the val images (protocols with image_threshold: heldout)",
    )
    parser.add_argument("--val-list", type=Path, help="the val image ids (with --val-scores)")
    parser.add_argument("--out", type=Path, required=True, help="output: metrics.json")
    add_per_image(parser)


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..errors import ConfigError
    from ..per_image import per_image_path, write_evaluation
    from .evaluate import pipeline_evaluation
    from .scores import read_scores

    if (args.val_scores is None) != (args.val_list is None):
        raise ConfigError("--val-scores and --val-list go together; give both or neither")
    val = (read_scores(args.val_scores), read_image_list(args.val_list)) if args.val_scores is not None else None
    evaluation = pipeline_evaluation(
        read_scores(args.scores),
        read_pointer(args.dataset).layout,
        read_image_list(args.image_list),
        omega=args.omega,
        protocol=args.protocol,
        nms_iou=args.nms_iou,
        annotator=args.test_annotator,
        val=val,
        sources=(str(args.scores), str(args.val_scores)),
    )
    metrics = write_evaluation(evaluation, args.out, args.per_image or per_image_path(args.out))
    held = metrics.get("heldout")
    log.info(
        "%s at omega %g: AP50 %.3f, best F1 %.3f%s",
        metrics["pipeline_run"],
        args.omega,
        metrics["ap50"],
        metrics["best_f1"],
        f", held-out F1 {held['f1']:.3f}" if held else "",
    )
