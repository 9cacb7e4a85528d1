"""`ctcbench nucleus-predict`: the classical nucleus detector on an image list (predictions.json, the trained
detectors' format; docs/metrics.md#nucleus-detector)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.cli_options import add_dataset, add_image_list, add_reader


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset(parser)
    add_image_list(parser, "image ids to predict")
    add_reader(parser)
    parser.add_argument(
        "--params",
        required=True,
        metavar="JSON",
        help="the detector's parameters as JSON, the config's detect.nucleus block (its keys: "
        "docs/metrics.md#nucleus-detector)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output: predictions.json")


def run(args: argparse.Namespace) -> None:
    from .nucleus import NucleusParams
    from .nucleus_predictions import predict_to_file

    params = NucleusParams.from_json(args.params)
    predict_to_file(args.out, dataset=args.dataset, image_list=args.image_list, reader=args.reader, params=params)
