"""`ctcbench pipeline-oracle`: a pairing's test proposals with a perfect classifier, scored at ω = 1, and the detector's
recall ceiling (metrics.json of the error decomposition's oracle classifier, docs/metrics.md#error-decomposition)."""

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
    parser.add_argument("--scores", type=Path, required=True, help="scores.json of the pairing's test proposals")
    add_protocol(parser)
    add_nms_iou(parser, "after fusion")
    add_test_annotator(parser)
    parser.add_argument("--out", type=Path, required=True, help="output: metrics.json")
    add_per_image(parser)


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..detect.evaluate import ground_truth
    from ..per_image import Evaluation, per_image_path, write_evaluation
    from .decomposition import decomposition_evaluation, oracle_scores, with_recall_ceiling
    from .scores import read_scores

    scores = read_scores(args.scores)
    image_ids = read_image_list(args.image_list)
    truth = ground_truth(read_pointer(args.dataset).layout, "test", image_ids, args.test_annotator)
    oracle = oracle_scores(scores, truth, args.protocol)
    evaluation = decomposition_evaluation(oracle, truth, image_ids, protocol=args.protocol, nms_iou=args.nms_iou,
                                          annotator=args.test_annotator, source=str(args.scores))  # fmt: skip
    metrics = with_recall_ceiling(evaluation.metrics, scores, truth, image_ids, args.protocol)
    written = write_evaluation(Evaluation(metrics, evaluation.per_image), args.out,
                               args.per_image or per_image_path(args.out))  # fmt: skip
    log.info(
        "%s with an oracle classifier: AP50 %.3f, best F1 %.3f, recall %.3f (ceiling %.3f)",
        written["pipeline_run"],
        written["ap50"],
        written["best_f1"],
        written["recall_at_best_f1"],
        written["recall_ceiling"],
    )
