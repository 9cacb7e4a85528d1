"""Cell-level metrics against sklearn and against a case worked out by hand (docs/metrics.md#cell-level)."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

from ctcbench.classify.evaluate import cell_metrics, cross_fitted, image_halves
from ctcbench.classify.metrics import THRESHOLDS, auroc, binary_at, confusion_counts, row_percent, threshold_sweep
from ctcbench.classify.predict import Predictions


def random_case(seed, n=400, ties=False):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    p = np.clip(0.35 * (labels == 0) + rng.normal(0.3, 0.2, n), 0, 1)
    if ties:
        p = np.round(p, 1)  # many tied scores
    return labels, p


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_binary_scores_match_sklearn_at_every_threshold(seed, ties):
    labels, p = random_case(seed, ties=ties)
    truth = labels == 0
    for t in THRESHOLDS:
        ours = binary_at(truth, p, t)
        precision, recall, f1, _ = precision_recall_fscore_support(
            truth, p >= t, average="binary", pos_label=True, zero_division=0
        )
        assert (ours.precision, ours.recall, ours.f1) == pytest.approx((precision, recall, f1), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [False, True])
def test_auroc_matches_sklearn(seed, ties):
    labels, p = random_case(seed, ties=ties)
    assert auroc(labels == 0, p) == pytest.approx(roc_auc_score(labels == 0, p), abs=1e-12)


def test_confusion_matches_sklearn():
    labels, p = random_case(3)
    predicted = np.random.default_rng(4).integers(0, 3, len(labels))
    counts = confusion_counts(labels, predicted)
    assert (counts == confusion_matrix(labels, predicted, labels=[0, 1, 2])).all()
    assert np.allclose(
        row_percent(counts), 100 * confusion_matrix(labels, predicted, labels=[0, 1, 2], normalize="true")
    )
    empty = row_percent(np.array([[2, 2, 0], [0, 0, 0], [1, 0, 3]]))
    assert empty[1].tolist() == [0, 0, 0] and empty[0].tolist() == [50, 50, 0]


def test_hand_computed_case():
    # 4 cancers (p .905, .805, .305, .205) and 4 others (p .705, .405, .105, .055): scores off the grid.
    truth = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    p = np.array([0.905, 0.805, 0.305, 0.205, 0.705, 0.405, 0.105, 0.055])
    # AUROC: pairs (cancer > other): .905 beats 4, .805 beats 4, .305 beats 2, .205 beats 2 -> 12/16.
    assert auroc(truth, p) == 0.75
    # t = 0.05: all 8 predicted cancer: P = 4/8, R = 1, F1 = 2/3. From 0.06 to 0.10 the .055 crop drops out:
    # P = 4/7, F1 = 8/11; from 0.11 to 0.20 the .105 crop drops too: P = 4/6, F1 = 0.8. From 0.21: 3 TP,
    # 2 FP, 1 FN -> F1 = 6/9, and lower after. So the best is 0.8, first reached at t = 0.11.
    best, curve = threshold_sweep(truth, p)
    assert best.f1 == pytest.approx(0.8) and best.threshold == pytest.approx(0.11)
    assert (best.precision, best.recall) == pytest.approx((4 / 6, 1.0))
    assert (best.tp, best.fp, best.fn, best.tn) == (4, 2, 0, 2)
    assert curve[0].f1 == pytest.approx(2 / 3) and curve[5].f1 == pytest.approx(8 / 11)
    # From 0.91 nothing is predicted: F1 = 0 < 0.001 ends the sweep there.
    assert curve[-1].threshold == pytest.approx(0.91) and curve[-1].f1 == 0
    assert len(curve) == 87


def test_sweep_stops_early_and_keeps_the_first_maximum():
    truth = np.array([1, 0, 0, 0], bool)
    p = np.array([0.505, 0.2, 0.2, 0.2])
    best, curve = threshold_sweep(truth, p)
    # F1 = 0.4 until t > 0.2, then 1.0 from 0.21 to 0.50, then 0 at 0.51 and the sweep stops.
    assert best.threshold == pytest.approx(0.21) and best.f1 == 1.0
    assert curve[-1].threshold == pytest.approx(0.51) and len(curve) == 47


def test_grid_keeps_the_float_rounding_of_np_arange():
    # The original's grid value "0.50" is 0.5000000000000001, so a crop at exactly P(R) = 0.5 is not called
    # cancer there; reproducing the sweep means reproducing that.
    assert THRESHOLDS[45] > 0.5 and len(THRESHOLDS) == 95
    assert binary_at(np.array([True]), np.array([0.5]), THRESHOLDS[45]).tp == 0


def test_cell_metrics_record():
    labels = np.array([0, 0, 1, 2, 2, 1])
    probs = np.array(
        [[0.8, 0.1, 0.1], [0.4, 0.5, 0.1], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]]
    )
    metrics = cell_metrics(labels, Predictions(probs, None), "oracle")
    assert metrics["accuracy"] == pytest.approx(3 / 6)
    assert metrics["confusion_counts"] == [[1, 1, 0], [0, 1, 1], [1, 0, 1]]
    assert metrics["confusion_percent"][0] == [50.0, 50.0, 0.0]
    assert metrics["auroc"] == pytest.approx(roc_auc_score(labels == 0, probs[:, 0]))
    assert metrics["f1"] == metrics["oracle"]["f1"] and metrics["threshold"] == metrics["oracle"]["threshold"]
    b = metrics["binary_confusion"]
    assert b["tp"] + b["fn"] == 2 and b["fp"] + b["tn"] == 4
    assert "heldout" not in metrics


def test_halves_keep_images_together_and_balance_patients():
    image_ids = np.array([f"r0{p}c04f{i:02d}p01" for p in (6, 7) for i in range(5) for _ in range(3)])
    patients = np.array([i[:3] for i in image_ids])
    halves = image_halves(image_ids, patients, seed=0)
    for image in set(image_ids):
        assert len(set(halves[image_ids == image])) == 1
    for patient in ("r06", "r07"):
        per_image = {i: h for i, h in zip(image_ids, halves) if i.startswith(patient)}
        assert sorted(per_image.values()).count(0) == 3  # 5 images dealt 3 / 2
    assert (image_halves(image_ids, patients, seed=0) == halves).all()
    assert not (image_halves(image_ids, patients, seed=1) == halves).all()


def test_cross_fitted_threshold_applies_each_half_to_the_other():
    rng = np.random.default_rng(0)
    halves = np.repeat([0, 1], 200)
    truth = rng.random(400) < 0.4
    p = np.clip(truth * 0.3 + rng.random(400) * 0.7, 0, 1)
    held = cross_fitted(truth, p, halves)
    t0, t1 = held.thresholds
    assert t0 == threshold_sweep(truth[:200], p[:200])[0].threshold
    predicted = np.concatenate([p[:200] >= t1, p[200:] >= t0])
    precision, recall, f1, _ = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=0)
    assert (held.scores.f1, held.scores.precision, held.scores.recall) == pytest.approx((f1, precision, recall))
    # An oracle threshold on all crops can only do better than (or as well as) held-out ones.
    assert threshold_sweep(truth, p)[0].f1 >= held.scores.f1 - 1e-12


def test_cross_fitted_record_reports_held_out_numbers():
    rng = np.random.default_rng(1)
    n = 120
    labels = rng.integers(0, 3, n)
    p = np.clip((labels == 0) * 0.3 + rng.random(n) * 0.7, 0, 1)
    probs = np.stack([p, (1 - p) / 2, (1 - p) / 2], axis=1)
    image_ids = np.array([f"r0{6 + k % 3}c04f{k // 3 % 8:02d}p01" for k in range(n)])
    patients = np.array([i[:3] for i in image_ids])
    metrics = cell_metrics(labels, Predictions(probs, None), "cross_fitted", image_ids, patients, split_seed=0)
    assert metrics["f1"] == metrics["heldout"]["f1"] and metrics["threshold"] is None
    assert metrics["oracle"]["f1"] >= metrics["f1"]
    assert metrics["auroc"] == pytest.approx(roc_auc_score(labels == 0, p))


def test_cross_fitted_checkpoints_score_each_half_with_the_other_halfs_choice():
    """Each crop is reported with the checkpoint chosen on the other half, whose threshold is tuned on its own half;
    the oracle numbers stay those of best.pt."""
    rng = np.random.default_rng(3)
    n = 90
    labels = rng.integers(0, 3, n)
    image_ids = np.array([f"r0{6 + k % 3}c04f{k // 3 % 10:02d}p01" for k in range(n)])
    patients = np.array([i[:3] for i in image_ids])
    best, half0, half1 = (Predictions(rng.dirichlet(np.ones(3), n), None) for _ in range(3))
    metrics = cell_metrics(labels, best, "cross_fitted", image_ids, patients, 0, (half0, half1))
    halves = image_halves(image_ids, patients, 0)
    held = np.where((halves == 0)[:, None], half1.probs, half0.probs)
    truth = labels == 0
    assert metrics["auroc"] == pytest.approx(roc_auc_score(truth, held[:, 0]))
    assert metrics["accuracy"] == pytest.approx(np.mean(held.argmax(axis=1) == labels))
    t0 = threshold_sweep(truth[halves == 0], half0.p_cancer[halves == 0])[0].threshold
    t1 = threshold_sweep(truth[halves == 1], half1.p_cancer[halves == 1])[0].threshold
    predicted = np.where(halves == 1, half0.p_cancer >= t0, half1.p_cancer >= t1)
    _, _, f1, _ = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=0)
    assert metrics["f1"] == pytest.approx(f1) and metrics["heldout"]["thresholds"] == [t0, t1]
    assert metrics["oracle"]["auroc"] == pytest.approx(roc_auc_score(truth, best.p_cancer))
    assert metrics["oracle"]["f1"] == threshold_sweep(truth, best.p_cancer)[0].f1
    assert metrics["checkpoint_choice"].startswith("cross-fitted")
    # With one model behind all three files it is the cross-fitted threshold alone.
    same = cell_metrics(labels, best, "cross_fitted", image_ids, patients, 0, (best, best))
    alone = cell_metrics(labels, best, "cross_fitted", image_ids, patients, 0)
    assert {k: same[k] for k in ("f1", "auroc", "accuracy")} == {k: alone[k] for k in ("f1", "auroc", "accuracy")}
