"""`ctcbench classify-eval`: cell-level metrics and embeddings of one trained run on the val crops."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from .evaluate import evaluate_run

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", required=True, type=Path, help="run folder holding best.pt")
    parser.add_argument("--val-cache", required=True, type=Path, help="crop cache of the val split")
    parser.add_argument(
        "--split-seed",
        type=int,
        default=0,
        help="seed of the val halves of the corrected threshold (same for all runs)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")


def run(args: argparse.Namespace) -> None:
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
