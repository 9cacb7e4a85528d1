"""`ctcbench twin-check`: how well a simple classifier separates cancer cells in each input setting.

The benchmark is only meaningful on a dataset where the settings keep the paper's order (Brightfield <
Brightfield + Hoechst < Brightfield + Fluorescence). This check reads the train/val cells the way the paper's
classifier does (exact box crops of the 8-bit OpenCV-style reads, channels composed per setting, reference-spec
§2.3), fits a standardised logistic regression on hand-made crop features, and reports R-vs-rest AUROC and best
F1 on val. It takes seconds, so it can gate a twin before hours of training are spent on it.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

from ...errors import DatasetError
from ...io import atomic_write_json, atomic_write_text
from ..imageio import read_faithful
from ..layout import DatasetLayout
from ..pointer import read_pointer
from ..voc import read_voc
from .features import crop_features

log = logging.getLogger(__name__)


def _bf(bf: np.ndarray, fl: np.ndarray) -> np.ndarray:
    return bf


def _bf_hoechst(bf: np.ndarray, fl: np.ndarray) -> np.ndarray:
    # The paper's 3-channel variant: the last brightfield copy is replaced by Hoechst (array index 0 of the read).
    return np.concatenate([bf[:, :, :2], fl[:, :, :1]], axis=2)


def _bf_fluorescence(bf: np.ndarray, fl: np.ndarray) -> np.ndarray:
    # [BF, BF, BF, Hoechst, green, red]: the BGR read of the RGB fluorescence file.
    return np.concatenate([bf, fl], axis=2)


# Setting name (as in the paper tables' CSVs) -> channel composition from the (8-bit BGR brightfield, 8-bit BGR fluorescence) crops.
SETTINGS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "bf": _bf,
    "bf_hoechst": _bf_hoechst,
    "bf_fluo": _bf_fluorescence,
}


@dataclass
class CellSet:
    """Features of every annotated cell of one split, per setting, and whether each cell is R."""

    features: dict[str, np.ndarray]
    is_cancer: np.ndarray
    labels: list[str]


def load_cells(layout: DatasetLayout, split: str, progress: bool = True) -> CellSet:
    """Exact box crops of every train/val cell, cut from the faithful (OpenCV-style) reads of the raw images."""
    rows: dict[str, list[np.ndarray]] = {name: [] for name in SETTINGS}
    labels: list[str] = []
    for image_id in tqdm(layout.read_split(split), desc=f"{split} cells", unit="image", disable=not progress):
        bf = read_faithful(layout.brightfield(image_id))
        fl = read_faithful(layout.fluorescence(image_id))
        for obj in read_voc(layout.trainval_xml(image_id)).objects:
            xmin, ymin, xmax, ymax = obj.int_coords()
            xmin, ymin = max(xmin, 0), max(ymin, 0)
            if xmax <= xmin or ymax <= ymin:
                continue
            crop_bf, crop_fl = bf[ymin:ymax, xmin:xmax], fl[ymin:ymax, xmin:xmax]
            for name, compose in SETTINGS.items():
                rows[name].append(crop_features(compose(crop_bf, crop_fl)))
            labels.append(obj.name)
    if not labels:
        raise DatasetError(f"{layout.root}: no annotated cells in the {split} split; cannot score a classifier")
    is_cancer = np.array([label == "R" for label in labels])
    return CellSet({name: np.stack(r) for name, r in rows.items()}, is_cancer, labels)


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
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000, random_state=seed))
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


def check(layout: DatasetLayout, progress: bool = True) -> dict[str, Any]:
    train = load_cells(layout, "train", progress)
    val = load_cells(layout, "val", progress)
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
