"""`ctcbench detect-train`: train (or resume) one detector run and write model.pth and run.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_args import add_threads
from ..data.cli_options import add_dataset
from .spec import RunSpec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    parser.add_argument("--train-list", type=Path, required=True, help="image ids to train on, one per line")
    parser.add_argument("--spec", required=True, help="run spec as JSON (the workflow generates it from config.yaml)")
    parser.add_argument(
        "--weights", type=Path, default=None, help="staged pretrained weights (when the spec needs them)"
    )
    parser.add_argument(
        "--val-list",
        type=Path,
        default=None,
        help="val image ids, scored to keep the best epoch (when the spec's protocol has detector_checkpoint best_val)",
    )
    parser.add_argument("--model", type=Path, required=True, help="output: trained weights and model config")
    parser.add_argument("--run-json", type=Path, required=True, help="output: run record (provenance)")
    parser.add_argument(
        "--curves", type=Path, help="output: loss terms of every iteration (CSV; default: curves.csv beside the model)"
    )
    add_threads(parser)


def run(args: argparse.Namespace) -> None:
    from .train import TrainPaths, train

    spec = RunSpec.from_json(args.spec)
    paths = TrainPaths(
        dataset=args.dataset,
        train_list=args.train_list,
        model=args.model,
        run_json=args.run_json,
        curves=args.curves,
        weights=args.weights,
        val_list=args.val_list,
    )
    train(spec, paths, threads=args.threads)
