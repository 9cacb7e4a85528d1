"""`ctcbench classify-bf-only`: train and evaluate one run of the brightfield-only track (classify.bf_only)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..cli_args import add_device, add_threads
from .bf_only.spec import BfOnlySpec

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        required=True,
        help="run spec as JSON (the workflow makes it from ablations.bf_only; classify.bf_only.spec)",
    )
    parser.add_argument(
        "--weights-dir", type=Path, default=Path("resources/weights"), help="staged weights (pretrained specs)"
    )
    parser.add_argument("--train-cache", required=True, type=Path, help="crop cache of the train split")
    parser.add_argument("--val-cache", required=True, type=Path, help="crop cache of the val split")
    parser.add_argument("--trainset-file", required=True, type=Path, help="the training-set list it reads (.tsv)")
    parser.add_argument("--out-dir", required=True, type=Path, help="run folder: best.pt, metrics.json, run.json")
    add_device(parser)
    add_threads(parser)


def run(args: argparse.Namespace) -> None:
    # Imported here, not at the top: `--help` then never waits for torch.
    import torch

    from .bf_only.train import Files, train_and_evaluate
    from .network import require_weights

    spec = BfOnlySpec.from_json(args.spec)
    torch.set_num_threads(max(1, args.threads))
    weights = require_weights(args.weights_dir, spec.network) if spec.pretrained else None
    files = Files(args.train_cache, args.val_cache, args.trainset_file, args.out_dir, weights)
    metrics = train_and_evaluate(spec, files, args.device, args.threads)
    log.info("%s: macro F1 %.3f, accuracy %.3f", spec.name, metrics["f1"], metrics["accuracy"])
