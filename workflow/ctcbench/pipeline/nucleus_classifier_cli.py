"""`ctcbench nucleus-classifier`: the nucleus detector as the pipeline's proposal source, its test boxes scored by a
trained classifier run (`best.pt`) and evaluated as the pipeline at ω = 1, a control of the image-level results
(metrics.json and its per-image record; docs/metrics.md#controls)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli_args import add_device, add_threads, add_workers
from .nucleus_features_cli import add_control_arguments, control_inputs, write_control


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_control_arguments(parser)
    parser.add_argument("--classifier", type=Path, required=True, help="the classifier run's best.pt")
    add_device(parser)
    add_threads(parser)
    add_workers(parser)


def run(args: argparse.Namespace) -> None:
    import torch

    from .nucleus_features import nucleus_classifier_evaluation

    torch.set_num_threads(max(1, args.threads))
    layout, test, common, sources = control_inputs(args, "nucleus-classifier")
    evaluation = nucleus_classifier_evaluation(layout, args.classifier, test, args.protocol, device=args.device,
                                               workers=args.workers, sources=sources, **common)  # fmt: skip
    write_control(args, evaluation)
