"""`ctcbench detect-predict`: run a trained detector on an image list and write predictions.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_args import add_device, add_threads
from ..data.cli_options import add_dataset, add_image_list


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    add_image_list(parser, "image ids to predict")
    parser.add_argument("--model", type=Path, required=True, help="model.pth written by detect-train")
    parser.add_argument("--out", type=Path, required=True, help="output: predictions.json")
    parser.add_argument("--batch-size", type=int, default=1, help="images per forward pass")
    add_device(parser)
    add_threads(parser)


def run(args: argparse.Namespace) -> None:
    from .predict import predict_to_file

    predict_to_file(
        args.out,
        model_path=args.model,
        dataset=args.dataset,
        image_list=args.image_list,
        batch_size=args.batch_size,
        device=args.device,
        threads=args.threads,
    )
