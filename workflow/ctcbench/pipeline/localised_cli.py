"""`ctcbench pipeline-localised`: a pairing with perfect localisation, the ground-truth R boxes and the detector's
proposals that reach none of them, every box scored by the pairing's classifier at ω = 1 (scores.json and metrics.json
of the error decomposition's perfect localisation, docs/metrics.md#error-decomposition)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_device, add_nms_iou, add_per_image, add_protocol, add_threads, add_workers
from ..data.cli_options import add_dataset, add_image_list, add_test_annotator

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    add_image_list(parser, "test image ids")
    parser.add_argument("--scores", type=Path, required=True, help="scores.json of the pairing's test proposals")
    parser.add_argument("--classifier", type=Path, required=True, help="best.pt that scored them")
    add_protocol(parser)
    add_nms_iou(parser, "after fusion")
    add_test_annotator(parser)
    add_device(parser)
    add_threads(parser)
    add_workers(parser)
    parser.add_argument("--out-scores", type=Path, required=True, help="output: scores.json of every box scored")
    parser.add_argument("--out", type=Path, required=True, help="output: metrics.json")
    add_per_image(parser)


def run(args: argparse.Namespace) -> None:
    import torch

    from ..classify.scorer import CellScorer
    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..detect.evaluate import ground_truth
    from ..errors import ConfigError
    from ..per_image import per_image_path, write_evaluation
    from ..provenance import file_sha256
    from .decomposition import decomposition_evaluation, localised_scores, truth_proposals
    from .scores import read_scores, write_scores
    from .scoring import classify_images

    torch.set_num_threads(max(1, args.threads))
    scores = read_scores(args.scores)
    if file_sha256(args.classifier) != scores.meta.get("classifier", {}).get("sha256"):
        raise ConfigError(f"{args.classifier}: not the classifier that scored {args.scores}; give that one")
    layout = read_pointer(args.dataset).layout
    image_ids = read_image_list(args.image_list)
    truth = ground_truth(layout, "test", image_ids, args.test_annotator)
    scorer = CellScorer(args.classifier, args.device, args.workers)
    scored_truth = classify_images(scorer, layout, truth_proposals(scores, truth), args.protocol.image_read)
    localised = localised_scores(scores, truth, scored_truth, args.protocol)
    write_scores(args.out_scores, localised)
    evaluation = decomposition_evaluation(localised, truth, image_ids, protocol=args.protocol, nms_iou=args.nms_iou,
                                          annotator=args.test_annotator, source=str(args.out_scores))  # fmt: skip
    metrics = write_evaluation(evaluation, args.out, args.per_image or per_image_path(args.out))
    log.info(
        "%s with perfect localisation: %d ground-truth boxes among %d boxes, AP50 %.3f, best F1 %.3f",
        metrics["pipeline_run"],
        localised.meta["n_ground_truth_boxes"],
        localised.meta["n_proposals"],
        metrics["ap50"],
        metrics["best_f1"],
    )
