"""The k-fold track's metrics (docs/metrics.md#k-fold-track): ROC AUC of P(cancer), and sensitivity and specificity
at the study's 0.5 cut-off, with the confusion counts behind them; and the points of the ROC curve.

Plain numpy (the AUROC is `metrics.auroc`, the counts `metrics.binary_at`), so the tests check them against sklearn.
Cancer (R) is the positive class.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .metrics import auroc, binary_at

CUT_OFF = 0.5  # the study's: cancer when P(cancer) >= 0.5


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def binary_metrics(is_cancer: np.ndarray, p_cancer: np.ndarray) -> dict[str, Any]:
    """AUROC, sensitivity and specificity at CUT_OFF, and the counts (n, tp, fn, fp, tn) of a set of crops."""
    scores = binary_at(is_cancer, p_cancer, CUT_OFF)
    return {
        "n": int(np.size(is_cancer)),
        "auroc": auroc(is_cancer, p_cancer),
        "sensitivity": _ratio(scores.tp, scores.tp + scores.fn),
        "specificity": _ratio(scores.tn, scores.tn + scores.fp),
        "tp": scores.tp,
        "fn": scores.fn,
        "fp": scores.fp,
        "tn": scores.tn,
    }


def roc_points(is_cancer: np.ndarray, p_cancer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) at every distinct score, from (0, 0) to (1, 1)."""
    truth = np.asarray(is_cancer, bool)
    scores = np.asarray(p_cancer, np.float64)
    order = np.argsort(-scores, kind="stable")
    truth, scores = truth[order], scores[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1] if scores.size else np.array([], int)
    tps = np.cumsum(truth)[last_of_each]
    fps = (last_of_each + 1) - tps
    positives, negatives = max(int(truth.sum()), 1), max(int((~truth).sum()), 1)
    return np.r_[0.0, fps / negatives], np.r_[0.0, tps / positives]
