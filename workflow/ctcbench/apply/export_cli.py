"""`ctcbench export`: pack one pairing of the grid at one ω into a bundle folder for new images (docs/apply.md)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..data.cli_options import add_dataset

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    parser.add_argument(
        "--metrics", type=Path, required=True, help="the pairing's metrics.json at the bundle's omega (pipeline/...)"
    )
    parser.add_argument("--scores", type=Path, required=True, help="the pairing's scores.json of the test images")
    parser.add_argument("--test-list", type=Path, required=True, help="the test image ids (splits/images/test.txt)")
    parser.add_argument(
        "--val-scores", type=Path, required=True, help="scores-val.json of the same runs: the threshold is chosen there"
    )
    parser.add_argument("--val-list", type=Path, required=True, help="the val image ids (splits/images/val.txt)")
    parser.add_argument("--detector", type=Path, required=True, help="the detector run's model.pth")
    parser.add_argument("--detector-run", type=Path, required=True, help="the detector run's run.json")
    parser.add_argument("--classifier", type=Path, required=True, help="the classifier run's best.pt")
    parser.add_argument("--classifier-run", type=Path, required=True, help="the classifier run's run.json")
    parser.add_argument(
        "--paper-table", type=Path, help="the paper's Table 4 (resources/paper/table4_image_level.csv), shown beside"
    )
    parser.add_argument("--out", type=Path, required=True, help="output: the bundle folder (replaced whole)")


def run(args: argparse.Namespace) -> None:
    from .export import PipelineFiles, export

    files = PipelineFiles(
        dataset=args.dataset,
        metrics=args.metrics,
        test_scores=args.scores,
        test_list=args.test_list,
        val_scores=args.val_scores,
        val_list=args.val_list,
        detector=args.detector,
        detector_run=args.detector_run,
        classifier=args.classifier,
        classifier_run=args.classifier_run,
        paper_table=args.paper_table,
    )
    bundle = export(files, args.out)
    value = bundle.manifest["threshold"]["value"]
    log.info("wrote %s (%s, threshold %s)", args.out, bundle.name, "none" if value is None else f"{value:.4f}")
