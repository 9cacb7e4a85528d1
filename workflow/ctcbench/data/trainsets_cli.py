"""`ctcbench trainsets`: the crop-level training sets the workflow declares (main, per patient, fractions, unknown-cell
variants), cut from the train crops."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ..errors import ConfigError
from ..io import atomic_write_json
from .crops import CropCache
from .splits import records_from_cache, select_trainset, write_trainset

log = logging.getLogger(__name__)
SPEC_KEYS = {"name", "file", "kind", "value", "seed"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", required=True, type=Path, help="crop cache of the training split")
    parser.add_argument(
        "--spec",
        required=True,
        help='the lists to write, as JSON: [{"name": "frac-0.1", "file": ..., "kind": "fraction", "value": 0.1, '
        '"seed": 0}, ...] (kinds of plan.trainsets: all, patient, fraction, u-drop, u-candidates; the workflow '
        "generates it)",
    )
    parser.add_argument(
        "--stratified", action="store_true", help="stratify fractions by class and patient (protocol switch)"
    )
    parser.add_argument("--summary", type=Path, help="JSON with the size and class counts of every list")


def read_spec(text: str) -> list[dict]:
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"trainsets --spec is not valid JSON ({exc})") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and set(e) <= SPEC_KEYS for e in entries):
        raise ConfigError(f"trainsets --spec: expected a list of objects with keys {', '.join(sorted(SPEC_KEYS))}")
    return entries


def run(args: argparse.Namespace) -> None:
    cache = CropCache.load(args.cache, pixels=False)  # the lists name crops: their pixels are not needed
    records = records_from_cache(cache.keys, cache.labels, cache.image_ids)
    summary = {}
    for entry in read_spec(args.spec):
        chosen = select_trainset(records, entry["kind"], entry.get("value"), entry.get("seed") or 0, args.stratified)
        write_trainset(entry["file"], chosen)
        counts = {label: sum(r.label == label for r in chosen) for label in ("R", "G", "U")}
        name = entry.get("name", entry["file"]) + (f"/seed{entry['seed']}" if entry.get("seed") is not None else "")
        summary[name] = {"crops": len(chosen), **counts}
        log.info("%s: %d crops %s", name, len(chosen), counts)
    if args.summary:
        atomic_write_json(args.summary, summary)
