"""`ctcbench classify-eval`: cell-level metrics and embeddings of one trained run on the val crops."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_device, add_threads, add_workers

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", required=True, type=Path, help="run folder holding best.pt")
    parser.add_argument("--val-cache", required=True, type=Path, help="crop cache of the val split")
    parser.add_argument(
        "--split-seed",
        type=int,
        default=0,
        help="seed of the val halves of a cross-fitted threshold (same for all runs)",
    )
    add_device(parser)
    add_threads(parser)
    add_workers(parser)


def run(args: argparse.Namespace) -> None:
    # Imported here, not at the top: `--help` then never waits for torch.
    import torch

    from .evaluate import evaluate_run

    torch.set_num_threads(max(1, args.threads))
    metrics = evaluate_run(
        args.run_dir, args.val_cache, device=args.device, workers=args.workers, split_seed=args.split_seed
    )
    log.info(
        "%s: F1 %.3f  P %.3f  R %.3f  AUROC %s  accuracy %s",
        args.run_dir,
        metrics["f1"],
        metrics["precision"],
        metrics["recall"],
        metrics["auroc"],
        metrics["accuracy"],
    )
