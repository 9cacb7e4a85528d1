"""`ctcbench pipeline-score`: S_det and S_cls of every proposal of a detector run on a list of images (scores.json)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_device, add_nms_iou, add_protocol, add_threads, add_workers
from ..data.cli_options import add_dataset, add_image_list

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    add_image_list(parser, "image ids to score")
    parser.add_argument("--predictions", type=Path, required=True, help="predictions.json of the detector run")
    parser.add_argument("--classifier", type=Path, required=True, help="best.pt of the paired classifier run")
    add_protocol(parser)
    add_nms_iou(parser, "before classification (protocols with nms_before_classification)")
    add_device(parser)
    add_threads(parser)
    add_workers(parser)
    parser.add_argument("--out", type=Path, required=True, help="output: scores.json")


def run(args: argparse.Namespace) -> None:
    import torch

    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..provenance import file_sha256
    from .scores import write_scores
    from .scoring import score_proposals

    torch.set_num_threads(max(1, args.threads))
    scores = score_proposals(
        read_pointer(args.dataset).layout,
        args.predictions,
        read_image_list(args.image_list),
        args.classifier,
        args.protocol,
        args.nms_iou,
        device=args.device,
        workers=args.workers,
    )
    scores.meta.update(image_list=str(args.image_list), image_list_sha256=file_sha256(args.image_list))
    write_scores(args.out, scores)
    log.info("%s: %d proposals on %d images", args.out, scores.meta["n_proposals"], scores.meta["n_images"])
