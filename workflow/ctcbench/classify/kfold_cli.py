"""`ctcbench classify-kfold`: one run of the k-fold track (every fold of one network in one setting)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_device, add_threads

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        required=True,
        help="run spec as JSON: network, init, setting, fold scheme, seed, split sizes, protocol, schedule (the "
        "workflow generates it from config.yaml; ctcbench.classify.kfold_spec)",
    )
    parser.add_argument(
        "--weights-dir", type=Path, default=Path("resources/weights"), help="staged weights (init imagenet)"
    )
    parser.add_argument("--train-cache", required=True, type=Path, help="crop cache of the train split")
    parser.add_argument("--val-cache", required=True, type=Path, help="crop cache of the val split")
    parser.add_argument("--out-dir", required=True, type=Path, help="run folder: metrics.json, scores.csv, ...")
    add_device(parser)
    add_threads(parser, "CPU threads of the training process")


def run(args: argparse.Namespace) -> None:
    from .kfold import run_kfold
    from .kfold_spec import KFoldSpec
    from .network import require_weights

    spec = KFoldSpec.from_json(args.spec)
    weights = require_weights(args.weights_dir, spec.net) if spec.pretrained else None
    result = run_kfold(spec, args.train_cache, args.val_cache, args.out_dir, weights, args.device, args.threads)
    log.info("%s: %d folds in %.0f s", spec.name, len(result["folds"]), result["wall_time_s"])
