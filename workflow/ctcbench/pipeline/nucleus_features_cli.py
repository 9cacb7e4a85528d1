"""`ctcbench nucleus-features`: the nucleus detector's test boxes re-scored by a logistic regression on hand-made crop
features of one setting, evaluated as the pipeline at ω = 1, a control of the image-level results (metrics.json and
its per-image record; docs/metrics.md#controls). The options every control on the nucleus boxes shares are here too
(`ctcbench nucleus-classifier` scores the same boxes with a trained classifier)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ..cli_args import add_nms_iou, add_per_image, add_protocol
from ..data.channels import SETTINGS
from ..data.cli_options import add_dataset, add_image_list, add_test_annotator

log = logging.getLogger(__name__)


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    """The nucleus boxes to score, the ground truth and protocol to score them under, and the outputs."""
    add_dataset(parser)
    add_image_list(parser, "test image ids")
    parser.add_argument("--predictions", type=Path, required=True, help="the nucleus detector's test predictions.json")
    parser.add_argument(
        "--val-predictions",
        type=Path,
        help="the nucleus detector's val predictions.json (protocols with image_threshold: heldout)",
    )
    parser.add_argument("--val-list", type=Path, help="the val image ids (with --val-predictions)")
    add_test_annotator(parser)
    add_protocol(parser)
    add_nms_iou(parser, "before classification (protocols with nms_before_classification) and after fusion")
    parser.add_argument("--out", type=Path, required=True, help="output: metrics.json")
    add_per_image(parser)


def control_inputs(args: argparse.Namespace, command: str) -> tuple[Any, tuple, dict[str, Any], tuple[str, str]]:
    """(the dataset layout, the test predictions and ids, the evaluation's options, the predictions' sources)."""
    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..detect.predictions import read_predictions
    from ..errors import ConfigError

    if (args.val_predictions is None) != (args.val_list is None):
        raise ConfigError(f"{command}: --val-predictions and --val-list go together; give both or neither")
    val = None
    if args.val_predictions is not None:
        val = (read_predictions(args.val_predictions), read_image_list(args.val_list))
    test = (read_predictions(args.predictions), read_image_list(args.image_list))
    common = {"annotator": args.test_annotator, "nms_iou": args.nms_iou, "val": val}
    return read_pointer(args.dataset).layout, test, common, (str(args.predictions), str(args.val_predictions))


def write_control(args: argparse.Namespace, evaluation) -> None:
    from ..per_image import per_image_path, write_evaluation

    metrics = write_evaluation(evaluation, args.out, args.per_image or per_image_path(args.out))
    held = metrics.get("heldout")
    log.info("%s: AP50 %.3f, best F1 %.3f%s", metrics["control"], metrics["ap50"], metrics["best_f1"],
             f", held-out F1 {held['f1']:.3f}" if held else "")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_control_arguments(parser)
    parser.add_argument(
        "--train-crops", type=Path, required=True, help="crop cache of the train split (the classifier's fit)"
    )
    parser.add_argument("--setting", choices=SETTINGS, required=True, help="the channels the classifier sees")
    parser.add_argument("--seed", type=int, default=0, help="the logistic regression's seed")


def run(args: argparse.Namespace) -> None:
    from ..data.crops import CropCache
    from .nucleus_features import nucleus_features_evaluation

    layout, test, common, sources = control_inputs(args, "nucleus-features")
    evaluation = nucleus_features_evaluation(
        layout, CropCache.load(args.train_crops), test, args.setting, args.protocol, seed=args.seed,
        sources=(str(args.train_crops), *sources), **common,
    )  # fmt: skip
    write_control(args, evaluation)
