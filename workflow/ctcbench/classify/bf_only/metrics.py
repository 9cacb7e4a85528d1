"""The study's metrics (docs/metrics.md#bf-only): accuracy and the macro averages over the two classes, cancer (R)
and not-cancer (G), of precision, recall and F1 at the argmax, in plain numpy (the tests check them against
sklearn's `average="macro"`, zero_division 0)."""

from __future__ import annotations

import numpy as np

CLASSES = 2
CANCER_FIRST = ("R", "G")  # label 0, label 1
METRICS = ("accuracy", "precision", "recall", "f1")


def confusion(labels: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """counts[true, predicted] of the two classes, each sample counted `weights` times."""
    counts = np.zeros((CLASSES, CLASSES), np.float64)
    np.add.at(counts, (np.asarray(labels, int), np.asarray(predicted, int)), 1 if weights is None else weights)
    return counts


def from_confusion(counts: np.ndarray) -> dict[str, float]:
    """Accuracy and macro precision, recall and F1 of a confusion matrix; a class's precision or recall is 0 where
    it is undefined, as is its F1."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    hits = np.diag(counts)
    predicted, actual = counts.sum(axis=0), counts.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros(CLASSES), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros(CLASSES), where=actual > 0)
    f1 = np.divide(2 * hits, predicted + actual, out=np.zeros(CLASSES), where=hits > 0)
    return {
        "accuracy": float(hits.sum() / total) if total else float("nan"),
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
    }


def macro_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return from_confusion(confusion(labels, predicted))
