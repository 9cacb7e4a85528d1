"""`ctcbench pseudo-labels`: the Table 5 pseudo-label training sets from the drop-U runs of every seed."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_device, add_threads, add_workers
from ..data.crops import CropCache
from ..data.splits import read_trainset, write_trainset
from ..io import atomic_write_json

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", required=True, type=Path, nargs="+", help="best.pt of the u-drop runs (all seeds)")
    parser.add_argument("--train-cache", required=True, type=Path, help="crop cache of the train split")
    parser.add_argument("--base", required=True, type=Path, help="the R+G training set (u-drop.tsv)")
    parser.add_argument("--candidates", required=True, type=Path, help="the U crops to relabel (u-candidates.tsv)")
    parser.add_argument("--threshold", type=float, default=0.8, help="mean P(R) above which a U crop joins R")
    parser.add_argument("--out-all", required=True, type=Path, help="u-pseudo-all training set (.tsv)")
    parser.add_argument("--out-confident", required=True, type=Path, help="u-pseudo-<threshold> training set (.tsv)")
    parser.add_argument("--scores", required=True, type=Path, help="per-crop P(R) of every model (.tsv)")
    parser.add_argument("--summary", type=Path, help="counts of the new sets (.json)")
    add_device(parser)
    add_threads(parser)
    add_workers(parser)


def run(args: argparse.Namespace) -> None:
    # Imported here, not at the top: `--help` then never waits for torch.
    import torch

    from .pseudo import ALL_THRESHOLD, cancer_probabilities, pseudo_label_sets, write_scores

    torch.set_num_threads(max(1, args.threads))
    cache = CropCache.load(args.train_cache)
    base, candidates = read_trainset(args.base), read_trainset(args.candidates)
    per_model = cancer_probabilities(args.models, cache, candidates, args.device, args.workers, args.candidates)
    mean_p = per_model.mean(axis=1)
    sets = pseudo_label_sets(base, candidates, mean_p, args.threshold)
    write_scores(args.scores, candidates, per_model, args.models)
    write_trainset(args.out_all, sets.all_relabelled)
    write_trainset(args.out_confident, sets.confident)
    summary = {
        "models": [str(m) for m in args.models],
        "candidates": len(candidates),
        "all_threshold": ALL_THRESHOLD,
        "confident_threshold": args.threshold,
        "u_to_r_all": int((mean_p > ALL_THRESHOLD).sum()),
        "u_to_r_confident": int((mean_p > args.threshold).sum()),
        "u_dropped_confident": int((mean_p <= args.threshold).sum()),
        "rule": "all: mean P(R) > 0.5 -> R else G; confident: mean P(R) > threshold -> R, other U dropped",
    }
    if args.summary:
        atomic_write_json(args.summary, summary)
    log.info("pseudo-labels: %s", summary)
