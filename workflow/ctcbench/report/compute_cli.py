"""`ctcbench compute`: the projected GPU cost of a configuration's whole grid, compute.csv and compute.md
(ctcbench.compute, docs/experiments.md#compute-projection)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

PAPER_DIR = Path(__file__).resolve().parents[3] / "resources" / "paper"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path, default=Path("config.yaml"), help="the config file")
    source.add_argument("--config-json", help="the resolved config as JSON (what rule compute passes)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a top-level key of --config, as snakemake --config does (preset=demo)",
    )
    parser.add_argument("--counts", type=Path, help="a Table 1 CSV (default: the one compute.dataset_counts chooses)")
    parser.add_argument(
        "--paper-table3",
        type=Path,
        help="the paper's Table 3, whose training hours stand beside the projection (default: resources/paper/'s)",
    )
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for counting the detectors")
    parser.add_argument("--csv", required=True, type=Path, help="output: compute.csv")
    parser.add_argument("--md", required=True, type=Path, help="output: compute.md")


def resolved_config(args: argparse.Namespace) -> dict:
    from ..config import load
    from ..errors import ConfigError

    if args.config_json:
        if args.set:
            raise ConfigError("--set overrides --config; with --config-json give the resolved config whole")
        return json.loads(args.config_json)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        overrides[key] = value
    return load(args.config, overrides)


def run(args: argparse.Namespace) -> None:
    import torch

    from ..compute.counts import counts_file
    from ..compute.project import project
    from .table_specs import TABLES

    torch.set_num_threads(max(1, args.threads))
    config = resolved_config(args)
    counts = args.counts or counts_file(config, PAPER_DIR, f"results/{config['preset']}")
    table3 = args.paper_table3 or PAPER_DIR / TABLES["table3_backbones"].paper_file
    table = project(config, counts, table3, args.csv, args.md)
    total = table[-1]
    log.info("%s: %.1f PFLOPs, %.2f GPU-hours", args.md, total["pflops"], total["gpu_hours"])
