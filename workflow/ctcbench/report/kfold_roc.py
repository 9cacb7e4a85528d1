"""The k-fold track's ROC figure (figures/kfold_roc.png): one panel per run, the ROC curve of every fold's model on
its held-out fold and of each fold's model on the test part, and the points it plots (kfold_roc.csv)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..classify.kfold_metrics import roc_points
from ..classify.kfold_spec import HELDOUT, TEST_PART
from ..errors import DatasetError
from ..plan.runs import KFoldRun

ROC_COLUMNS = ("run", "fold", "part", "fpr", "tpr")
COLUMNS_PER_ROW = 4


def run_of(path: Path) -> KFoldRun:
    """The run of a scores.csv: results/<preset>/kfold/<model>/<init>/<setting>/<scheme>/seed<S>/scores.csv."""
    return KFoldRun.parse("/".join(Path(path).parts[-6:-1]))


def read_curves(path: Path) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    """(fold, part) -> ROC points of one run's scores.csv."""
    if not Path(path).is_file():
        raise DatasetError(f"{path}: k-fold scores missing; run the k-fold run first (rule classify_kfold)")
    groups: dict[tuple[int, str], list[tuple[int, float]]] = defaultdict(list)
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            groups[(int(row["fold"]), row["part"])].append((int(row["cancer"]), float(row["p_cancer"])))
    curves = {}
    for key, pairs in sorted(groups.items()):
        truth, scores = np.array(pairs, np.float64).T
        curves[key] = roc_points(truth.astype(bool), scores)
    return curves


def roc_rows(run: KFoldRun, curves: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]) -> list[dict[str, Any]]:
    return [
        {"run": run.name, "fold": fold, "part": part, "fpr": f"{x:.6f}", "tpr": f"{y:.6f}"}
        for (fold, part), (fpr, tpr) in curves.items()
        for x, y in zip(fpr, tpr)
    ]


def roc_figure(runs: list[tuple[KFoldRun, dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]]]) -> Figure:
    columns = min(COLUMNS_PER_ROW, len(runs))
    rows = -(-len(runs) // columns)
    figure = Figure(figsize=(3.4 * columns, 3.4 * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False).ravel())
    for ax, (run, curves) in zip(axes, runs):
        for (fold, part), (fpr, tpr) in curves.items():
            style = {"color": f"C{fold}", "linestyle": "-" if part == HELDOUT else "--", "linewidth": 1}
            ax.plot(fpr, tpr, label=f"fold {fold} {'held-out' if part == HELDOUT else TEST_PART}", **style)
        ax.plot([0, 1], [0, 1], color="0.7", linewidth=0.8)
        ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 − specificity", ylabel="sensitivity")
        ax.set_title(f"{run.model} {run.init}, {run.setting}, {run.scheme}", fontsize=8)
        ax.legend(fontsize=5, loc="lower right")
    for ax in axes[len(runs) :]:
        ax.set_axis_off()
    return figure
