"""`ctcbench nucleus-features`: the nucleus detector's test boxes re-scored by a logistic regression on hand-made crop
features of one setting (`--train-crops`), or scored by a trained classifier run (`--classifier`: the nucleus detector
as the pipeline's proposal source), evaluated as the pipeline at ω = 1, a control of the image-level results
(metrics.json and its per-image record; docs/metrics.md#controls)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_device, add_nms_iou, add_per_image, add_protocol, add_threads, add_workers
from ..data.channels import SETTINGS
from ..data.cli_options import add_dataset, add_image_list, add_test_annotator

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    add_image_list(parser, "test image ids")
    parser.add_argument("--predictions", type=Path, required=True, help="the nucleus detector's test predictions.json")
    scorer = parser.add_mutually_exclusive_group(required=True)
    scorer.add_argument(
        "--train-crops", type=Path, help="crop cache of the train split: fit the feature classifier on it"
    )
    scorer.add_argument("--classifier", type=Path, help="a trained classifier run's best.pt: score the boxes with it")
    parser.add_argument(
        "--setting", choices=SETTINGS, help="the channels the feature classifier sees (with --train-crops)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the logistic regression's seed (with --train-crops)")
    add_device(parser)
    add_threads(parser)
    add_workers(parser)
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


def run(args: argparse.Namespace) -> None:
    from ..data.crops import CropCache
    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..detect.predictions import read_predictions
    from ..errors import ConfigError
    from ..per_image import per_image_path, write_evaluation
    from .nucleus_features import nucleus_classifier_evaluation, nucleus_features_evaluation

    if (args.val_predictions is None) != (args.val_list is None):
        raise ConfigError("nucleus-features: --val-predictions and --val-list go together; give both or neither")
    if args.train_crops is not None and args.setting is None:
        raise ConfigError("nucleus-features: --train-crops needs --setting (the channels the feature classifier sees)")
    val = None
    if args.val_predictions is not None:
        val = (read_predictions(args.val_predictions), read_image_list(args.val_list))
    layout = read_pointer(args.dataset).layout
    test = (read_predictions(args.predictions), read_image_list(args.image_list))
    common = {"annotator": args.test_annotator, "nms_iou": args.nms_iou, "val": val}
    predictions = (str(args.predictions), str(args.val_predictions))
    if args.classifier is not None:
        import torch

        torch.set_num_threads(max(1, args.threads))
        evaluation = nucleus_classifier_evaluation(
            layout, args.classifier, test, args.protocol, device=args.device, workers=args.workers,
            sources=predictions, **common,
        )  # fmt: skip
    else:
        evaluation = nucleus_features_evaluation(
            layout, CropCache.load(args.train_crops), test, args.setting, args.protocol, seed=args.seed,
            sources=(str(args.train_crops), *predictions), **common,
        )  # fmt: skip
    metrics = write_evaluation(evaluation, args.out, args.per_image or per_image_path(args.out))
    held = metrics.get("heldout")
    log.info("%s: AP50 %.3f, best F1 %.3f%s", metrics["control"], metrics["ap50"], metrics["best_f1"],
             f", held-out F1 {held['f1']:.3f}" if held else "")  # fmt: skip
