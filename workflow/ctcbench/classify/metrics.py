"""Cell-level metrics exactly as the original computed them (docs/metrics.md#cell-level), in plain numpy.

Written without sklearn so that the tests can check every number against sklearn as an independent
implementation. The binary task is cancer (R, label 0) against the rest (G and U), scored by P(R).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import rankdata

# The original's sweep: np.arange(0.05, 1, 0.01), i.e. 0.05 ... 0.99, used with its float rounding as is.
THRESHOLDS = np.arange(0.05, 1, 0.01)
# The original stops sweeping once F1 falls below this (higher thresholds can only predict fewer cancers).
F1_STOP = 0.001


@dataclass(frozen=True)
class BinaryScores:
    threshold: float
    f1: float
    precision: float
    recall: float
    tp: int
    fp: int
    fn: int
    tn: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def binary_at(is_cancer: np.ndarray, p_cancer: np.ndarray, threshold: float) -> BinaryScores:
    """Predict cancer when P(R) >= threshold; precision, recall and F1 are 0 where undefined (as sklearn's
    zero_division, which the original left at its default)."""
    truth = np.asarray(is_cancer, bool)
    pred = np.asarray(p_cancer) >= threshold
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    tn = int(np.sum(~pred & ~truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return BinaryScores(float(threshold), f1, precision, recall, tp, fp, fn, tn)


def threshold_sweep(is_cancer: np.ndarray, p_cancer: np.ndarray) -> tuple[BinaryScores, list[BinaryScores]]:
    """The best threshold by F1 over the original's grid, and the sweep as far as it went.

    The first maximum wins on ties (strict improvement), and the sweep stops after the first threshold whose F1
    is below 0.001, as in the original.
    """
    curve: list[BinaryScores] = []
    best: BinaryScores | None = None
    for threshold in THRESHOLDS:
        scores = binary_at(is_cancer, p_cancer, float(threshold))
        curve.append(scores)
        if best is None or scores.f1 > best.f1:
            best = scores
        if scores.f1 < F1_STOP:
            break
    assert best is not None
    return best, curve


def auroc(is_cancer: np.ndarray, p_cancer: np.ndarray) -> float:
    """Area under the ROC curve as the Mann-Whitney statistic with mid-ranks for ties; NaN with one class only."""
    truth = np.asarray(is_cancer, bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(np.asarray(p_cancer, np.float64))
    u = ranks[truth].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def confusion_counts(labels: np.ndarray, predicted: np.ndarray, n_classes: int = 3) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(counts, (np.asarray(labels, int), np.asarray(predicted, int)), 1)
    return counts


def row_percent(counts: np.ndarray) -> np.ndarray:
    """Rows scaled to 100 % (Fig. 7); a class without samples keeps a row of zeros."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(100.0 * counts, totals, out=np.zeros(counts.shape), where=totals > 0)


def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    labels = np.asarray(labels)
    return float(np.mean(labels == np.asarray(predicted))) if len(labels) else float("nan")
