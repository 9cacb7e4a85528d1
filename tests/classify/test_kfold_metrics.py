"""The k-fold track's metrics against sklearn as an independent implementation."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, recall_score, roc_auc_score, roc_curve

from ctcbench.classify.kfold_metrics import CUT_OFF, binary_metrics, roc_points


def scored(seed, n=300, ties=False):
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.3
    scores = np.clip(rng.normal(0.35 + 0.3 * truth, 0.2), 0, 1)
    return truth, np.round(scores, 1) if ties else scores


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_auroc_sensitivity_and_specificity_are_sklearns(seed, ties):
    truth, scores = scored(seed, ties=ties)
    metrics = binary_metrics(truth, scores)
    predicted = scores >= CUT_OFF
    assert metrics["auroc"] == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
    assert metrics["sensitivity"] == pytest.approx(recall_score(truth, predicted), abs=1e-12)
    assert metrics["specificity"] == pytest.approx(recall_score(~truth, ~predicted), abs=1e-12)
    tn, fp, fn, tp = confusion_matrix(truth, predicted, labels=[False, True]).ravel()
    assert (metrics["tp"], metrics["fn"], metrics["fp"], metrics["tn"]) == (tp, fn, fp, tn)
    assert metrics["n"] == truth.size


@pytest.mark.parametrize("ties", [False, True])
def test_roc_points_are_sklearns_curve(ties):
    truth, scores = scored(4, ties=ties)
    fpr, tpr = roc_points(truth, scores)
    expected_fpr, expected_tpr, _ = roc_curve(truth, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, expected_fpr, atol=1e-12)
    np.testing.assert_allclose(tpr, expected_tpr, atol=1e-12)


def test_a_cut_off_score_counts_as_cancer_and_one_class_leaves_the_undefined_undefined():
    metrics = binary_metrics(np.array([True, False]), np.array([0.5, 0.49]))
    assert (metrics["sensitivity"], metrics["specificity"]) == (1.0, 1.0)
    only_cancer = binary_metrics(np.array([True, True]), np.array([0.9, 0.2]))
    assert np.isnan(only_cancer["auroc"]) and np.isnan(only_cancer["specificity"])
    assert only_cancer["sensitivity"] == 0.5
