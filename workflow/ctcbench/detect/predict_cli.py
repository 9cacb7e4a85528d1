"""`ctcbench detect-predict`: run a trained detector on an image list and write predictions.json."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset", type=Path, required=True, help="dataset pointer (results/<preset>/data/dataset.json)"
    )
    parser.add_argument("--image-list", type=Path, required=True, help="image ids to predict, one per line")
    parser.add_argument("--model", type=Path, required=True, help="model.pth written by detect-train")
    parser.add_argument("--out", type=Path, required=True, help="output: predictions.json")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads")


def run(args: argparse.Namespace) -> None:
    from .predict import predict_to_file

    predict_to_file(args.out, model_path=args.model, dataset=args.dataset, image_list=args.image_list,
                    batch_size=args.batch_size, device=args.device, threads=args.threads)
