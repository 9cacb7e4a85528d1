"""`ctcbench twin-check`: how well a simple classifier separates cancer cells in each input setting.

The benchmark is only meaningful on a dataset where the settings keep the paper's order (Brightfield < Brightfield +
Hoechst < Brightfield + Fluorescence). This check reads the train/val cells the way the paper's classifier does (exact
box crops of the 8-bit OpenCV-style reads, channels composed per setting, docs/protocol.md#classifier-input), fits a
standardised logistic regression on hand-made crop features, and reports R-vs-rest AUROC and best F1 on val. It takes
seconds, so it can gate a twin before hours of training are spent on it.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_auc_score

from ...errors import DatasetError
from ...io import atomic_write_json, atomic_write_text
from ..channels import SETTINGS
from ..crop_features import linear_classifier, setting_features
from ..crops import build_crop_cache
from ..layout import CLASSES, DatasetLayout
from ..pointer import read_pointer

log = logging.getLogger(__name__)


@dataclass
class CellSet:
    """Features of every annotated cell of one split, per setting, and whether each cell is R."""

    features: dict[str, np.ndarray]
    is_cancer: np.ndarray
    labels: list[str]


def load_cells(layout: DatasetLayout, split: str) -> CellSet:
    """Features of every cell of a split, from the same exact-box crops and channel composition as the classifier."""
    cache = build_crop_cache(layout, split, layout.read_split(split), "opencv")
    if len(cache) == 0:
        raise DatasetError(f"{layout.root}: no annotated cells in the {split} split; cannot score a classifier")
    pairs = [cache.pair(index) for index in range(len(cache))]
    labels = [CLASSES[int(label)] for label in cache.labels]
    is_cancer = np.array([label == "R" for label in labels])
    return CellSet({name: setting_features(pairs, name) for name in SETTINGS}, is_cancer, labels)


def best_f1(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Highest F1 over all thresholds on these scores, and that threshold (as the paper tunes on its eval split)."""
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return float(f1[best]), float(thresholds[best]) if len(thresholds) else 0.5


def score_settings(train: CellSet, val: CellSet, seed: int = 0) -> dict[str, dict[str, float]]:
    if train.is_cancer.all() or not train.is_cancer.any():
        raise DatasetError("train cells are all R or all non-R; the check needs both")
    if val.is_cancer.all() or not val.is_cancer.any():
        raise DatasetError("val cells are all R or all non-R; the check needs both")
    results = {}
    for name in SETTINGS:
        model = linear_classifier(seed)
        model.fit(train.features[name], train.is_cancer)
        scores = model.predict_proba(val.features[name])[:, 1]
        f1, threshold = best_f1(val.is_cancer, scores)
        results[name] = {
            "auroc": float(roc_auc_score(val.is_cancer, scores)),
            "f1": f1,
            "threshold": threshold,
        }
    return results


def markdown_table(report: dict[str, Any]) -> str:
    lines = [
        f"Cancer (R) vs rest on val: {report['n_val']} cells ({report['n_val_cancer']} R), "
        f"trained on {report['n_train']} cells ({report['n_train_cancer']} R).",
        "",
        "| setting | AUROC | best F1 |",
        "|---|---|---|",
    ]
    for name, metrics in report["settings"].items():
        lines.append(f"| {name} | {metrics['auroc']:.3f} | {metrics['f1']:.3f} |")
    lines.append(f"\nOrder bf < bf_hoechst < bf_fluo in AUROC holds: {report['ordered']}")
    return "\n".join(lines) + "\n"


def check(layout: DatasetLayout) -> dict[str, Any]:
    train = load_cells(layout, "train")
    val = load_cells(layout, "val")
    settings = score_settings(train, val)
    aurocs = [settings[name]["auroc"] for name in SETTINGS]
    return {
        "root": str(layout.root),
        "n_train": int(len(train.labels)),
        "n_train_cancer": int(train.is_cancer.sum()),
        "n_val": int(len(val.labels)),
        "n_val_cancer": int(val.is_cancer.sum()),
        "settings": settings,
        "ordered": bool(all(a < b for a, b in zip(aurocs, aurocs[1:]))),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--root", type=Path, help="dataset root in the figshare layout")
    source.add_argument("--dataset", type=Path, help="dataset pointer JSON (written by synth, fetch or stage-local)")
    parser.add_argument("--out", type=Path, required=True, help="JSON report to write")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")


def run(args: argparse.Namespace) -> None:
    root = args.root if args.root is not None else Path(read_pointer(args.dataset).root)
    report = check(DatasetLayout(root))
    atomic_write_json(args.out, report)
    table = markdown_table(report)
    if args.markdown is not None:
        atomic_write_text(args.markdown, table)
    log.info("twin check:\n%s", table)
