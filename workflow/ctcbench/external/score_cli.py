"""`ctcbench score`: evaluate a method ctcbench did not train, exactly as its own (docs/extending.md#external-methods).

    ctcbench score --results results/demo --name my_method --setting bf --predictions test.json
    ctcbench score --results results/demo --name my_classifier --setting bf --cell-scores val_scores.json

`--results` is a results tree of the workflow: it gives the dataset, the split lists, the crop caches and the
protocol the tree was made with (its protocol.json), so the method is scored on the same images, crops and rules as
the tree's own models. Any of them can be given explicitly instead.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from ..cli_args import add_nms_iou, add_per_image, protocol_value
from ..data.cli_options import add_test_annotator
from ..errors import ConfigError

log = logging.getLogger(__name__)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--predictions", type=Path, help="detections on the test images (ctcbench.detections/1)")
    what.add_argument("--cell-scores", type=Path, help="R/G/U probabilities of the val crops (ctcbench.cell_scores/1)")
    parser.add_argument("--name", required=True, help="the method's name: lower case, digits, underscores")
    parser.add_argument("--setting", required=True, choices=("bf", "bf_hoechst", "bf_fluo"), help="its input setting")
    parser.add_argument("--seed", type=int, default=0, help="which run of the method this is (for mean ± std)")
    parser.add_argument("--results", type=Path, help="a results tree (results/<preset>): the defaults below")
    parser.add_argument("--val-predictions", type=Path, help="its detections on the val images (held-out threshold)")
    parser.add_argument("--dataset", type=Path, help="dataset pointer (default: <results>/data/dataset.json)")
    parser.add_argument("--image-list", type=Path, help="test image ids (default: <results>/splits/images/test.txt)")
    parser.add_argument("--val-list", type=Path, help="val image ids (default: <results>/splits/images/val.txt)")
    parser.add_argument("--val-cache", type=Path, help="val crop cache (default: the results tree's, by protocol)")
    parser.add_argument(
        "--protocol", type=protocol_value, metavar="PROTOCOL", help="default: the results tree's protocol.json"
    )
    add_test_annotator(parser)
    add_nms_iou(parser, "before matching")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the val halves (cross-fitted threshold)")
    parser.add_argument("--out", type=Path, help="metrics.json (default: <results>/external/<name>/<setting>/...)")
    add_per_image(parser)


def _from_results(args: argparse.Namespace, given: Path | None, relative: str) -> Path:
    if given is not None:
        return given
    if args.results is None:
        raise ConfigError(f"score: give --results (a results tree) or the {relative.split('/')[-1]} explicitly")
    return args.results / relative


def _protocol(args: argparse.Namespace):
    from ..results_stamp import STAMP_NAME, stamped_protocol

    if args.protocol is not None:
        return args.protocol
    stamp = _from_results(args, None, STAMP_NAME)
    return stamped_protocol(stamp)


def run(args: argparse.Namespace) -> None:
    from ..data.crops import CropCache
    from ..data.pointer import read_pointer
    from ..data.splits import read_image_list
    from ..per_image import per_image_path, write_evaluation
    from .score import KIND_CELLS, KIND_DETECTIONS, identity, score_cells, score_detections

    if not NAME.match(args.name):
        raise ConfigError(
            f"--name {args.name!r}: use lower case letters, digits and underscores, starting with a letter"
        )
    protocol = _protocol(args)
    out = args.out or _from_results(args, None, f"external/{args.name}/{args.setting}/seed{args.seed}/metrics.json")
    if args.predictions is not None:
        method = identity(args.name, args.setting, args.seed, KIND_DETECTIONS, args.predictions)
        layout = read_pointer(_from_results(args, args.dataset, "data/dataset.json")).layout
        image_ids = read_image_list(_from_results(args, args.image_list, "splits/images/test.txt"))
        val = None
        if args.val_predictions is not None:
            val = (args.val_predictions, read_image_list(_from_results(args, args.val_list, "splits/images/val.txt")))
        evaluation = score_detections(
            args.predictions, method, layout, image_ids, args.test_annotator, protocol, args.nms_iou, val
        )
        metrics = write_evaluation(evaluation, out, args.per_image or per_image_path(out))
        log.info("%s (%s): AP50 %.3f, best F1 %.3f -> %s", args.name, args.setting, metrics["ap50"],
                 metrics["best_f1"], out)  # fmt: skip
        return
    method = identity(args.name, args.setting, args.seed, KIND_CELLS, args.cell_scores)
    cache_path = _from_results(args, args.val_cache, f"crops/{protocol.crop_source}/{protocol.image_read}/val.npz")
    evaluation = score_cells(args.cell_scores, method, CropCache.load(cache_path), protocol, args.split_seed)
    metrics = write_evaluation(evaluation, out, args.per_image or per_image_path(out))
    log.info("%s (%s): F1 %.3f, AUROC %s -> %s", args.name, args.setting, metrics["f1"], metrics["auroc"], out)
