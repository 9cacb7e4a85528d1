"""`ctcbench stage-weights`: put a backbone's ImageNet weights under resources/weights/ (timm networks as
safetensors, torchvision networks as their state dict, `<builder>.pth`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="timm name with its weight tag (convnext_base.fb_in1k), or with --library torchvision the torchvision "
        "builder (convnext_base)",
    )
    parser.add_argument(
        "--library",
        choices=("timm", "torchvision"),
        default="timm",
        help="whose network: timm, or torchvision with its ImageNet-1k V1 weights (the original's; protocol switch "
        "classifier_networks)",
    )
    parser.add_argument("--out", required=True, type=Path, help="file to write (timm: .safetensors; torchvision: .pth)")
    parser.add_argument("--from-file", type=Path, help="convert this local checkpoint instead of downloading")


def run(args: argparse.Namespace) -> None:
    # Imported here, not at the top: `--help` then never waits for torch.
    from .weights import stage_weights

    digest = stage_weights(args.model, args.out, args.from_file, args.library)
    log.info("%s: staged (sha256 %s)", args.out, digest)
