"""AP50 and best F1 of the reference evaluator: a case worked out by hand, mmdet's VOC implementation, and
torchvision's NMS as independent references (the module itself imports neither mmdet nor torch)."""

from __future__ import annotations

import numpy as np
import pytest

from ctcbench.detect.evaluate import format_detections, nms, prepare
from ctcbench.detect.metrics import average_precision, best_f1, evaluate, match, voc_iou
from ctcbench.detect.predictions import ImageDetections, Predictions

# Ground truth of two images and five detections; the comments give each detection's fate.
TRUTH = {"A": np.array([[0, 0, 9, 9], [20, 20, 29, 29]]), "B": np.array([[0, 0, 9, 9]])}
DETECTIONS = {
    "A": (np.array([[0, 0, 9, 9], [1, 1, 10, 10], [20, 20, 29, 29]]), np.array([0.9, 0.7, 0.6])),
    "B": (np.array([[50, 50, 59, 59], [0, 0, 4, 9]]), np.array([0.8, 0.5])),
}
# By score: A 0.9 TP | B 0.8 FP | A 0.7 FP (IoU 81/119 with a used box) | A 0.6 TP | B 0.5 TP, IoU exactly 0.5
# with the +1 convention (50/100; without it 36/81 would miss). Precision 1, 1/2, 1/3, 1/2, 3/5; recall 1/3,
# 1/3, 1/3, 2/3, 1. Envelope 1 up to recall 1/3, then 3/5: AP = 1/3 + 3/5 * 2/3 = 11/15.


def test_voc_iou_uses_the_plus_one_convention():
    assert voc_iou(np.array([0, 0, 4, 9]), np.array([[0, 0, 9, 9]]))[0] == pytest.approx(0.5)
    assert voc_iou(np.array([1, 1, 10, 10]), np.array([[0, 0, 9, 9]]))[0] == pytest.approx(81 / 119)


def test_hand_computed_case():
    curve = match(DETECTIONS, TRUTH)
    assert curve.true_positive.tolist() == [True, False, False, True, True]
    assert np.allclose(curve.precision, [1, 1 / 2, 1 / 3, 1 / 2, 3 / 5])
    assert np.allclose(curve.recall, [1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])
    assert average_precision(curve.recall, curve.precision) == pytest.approx(11 / 15)
    f1 = best_f1(curve)
    assert (f1.f1, f1.precision, f1.recall, f1.score) == pytest.approx((0.75, 0.6, 1.0, 0.5))


def test_ground_truth_of_images_without_detections_lowers_recall():
    result = evaluate(DETECTIONS, {**TRUTH, "C": np.array([[5, 5, 20, 20]])})
    assert result["n_ground_truth"] == 4
    assert result["ap"] == pytest.approx(1 / 4 + 3 / 5 * 2 / 4)


def test_ties_keep_the_given_order():
    truth = {"A": np.array([[0, 0, 9, 9]])}
    detections = {"A": (np.array([[50, 50, 60, 60], [0, 0, 9, 9]]), np.array([0.5, 0.5]))}
    assert match(detections, truth).true_positive.tolist() == [False, True]


def random_case(rng, images=6):
    truth, detections = {}, {}
    scores = rng.permutation(1000) / 1000.0  # distinct scores: no tie-breaking differences
    used = 0
    for index in range(images):
        xy = rng.integers(0, 200, (rng.integers(0, 8), 2))
        truth[f"i{index}"] = np.concatenate([xy, xy + rng.integers(5, 40, xy.shape)], axis=1).astype(float)
        n = rng.integers(0, 12)
        near = truth[f"i{index}"][rng.integers(0, max(len(xy), 1), n)] if len(xy) else np.zeros((n, 4))
        boxes = near + rng.integers(-6, 7, (n, 4)) if len(xy) else rng.integers(0, 200, (n, 4)).astype(float)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        detections[f"i{index}"] = (boxes, scores[used : used + n])
        used += n
    return detections, truth


@pytest.mark.parametrize("seed", range(12))
def test_ap50_matches_mmdet_voc_eval_map_in_area_mode(seed):
    pytest.importorskip("mmdet")
    from mmdet.evaluation.functional import eval_map

    detections, truth = random_case(np.random.default_rng(seed))
    ids = list(truth)
    det_results = [[np.concatenate([detections[i][0], detections[i][1][:, None]], axis=1)] for i in ids]
    annotations = [dict(bboxes=truth[i], labels=np.zeros(len(truth[i]), dtype=int)) for i in ids]
    mean_ap, _ = eval_map(
        det_results, annotations, iou_thr=0.5, eval_mode="area", use_legacy_coordinate=True, logger="silent", nproc=1
    )
    assert evaluate(detections, truth)["ap"] == pytest.approx(mean_ap, abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_average_precision_matches_mmdet_area_mode(seed):
    pytest.importorskip("mmdet")
    from mmdet.evaluation.functional import average_precision as mmdet_ap

    rng = np.random.default_rng(seed)
    recall = np.sort(rng.uniform(0, 1, 30))
    precision = rng.uniform(0, 1, 30)
    assert average_precision(recall, precision) == pytest.approx(float(mmdet_ap(recall, precision, "area")))


@pytest.mark.parametrize("seed", range(20))
def test_nms_matches_torchvision(seed):
    torch = pytest.importorskip("torch")
    from torchvision.ops import nms as torchvision_nms

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 80))
    xy = rng.uniform(0, 100, (n, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 40, (n, 2))], axis=1)
    scores = rng.permutation(n) / max(n, 1)
    expected = torchvision_nms(torch.tensor(boxes), torch.tensor(scores), 0.5).numpy()
    assert np.array_equal(nms(boxes, scores, 0.5), expected)


def test_formatting_truncates_clips_and_drops_empty_boxes():
    boxes = np.array([[-3.7, 2.9, 50.2, 60.8], [95.5, 10.2, 130.0, 20.0], [40.0, 40.0, 40.9, 80.0]])
    got, scores = format_detections(boxes, np.array([0.9, 0.8, 0.7]), width=100, height=100, nms_iou=0.5)
    assert got.tolist() == [[0, 2, 50, 60], [95, 10, 100, 20]]
    assert scores.tolist() == [0.9, 0.8]


def test_prepare_keys_by_id_and_keeps_list_order():
    predictions = Predictions(
        meta={},
        images={
            "B": ImageDetections(100, 100, np.array([[0, 0, 10, 10]], float), np.array([0.5])),
            "A": ImageDetections(100, 100, np.array([[0, 0, 10, 10], [1, 1, 10, 10]], float), np.array([0.9, 0.8])),
        },
    )
    prepared = prepare(predictions, ["A", "B", "C"], nms_iou=0.5)
    assert list(prepared) == ["A", "B", "C"]
    assert len(prepared["A"][1]) == 1 and len(prepared["C"][1]) == 0


def test_the_exact_iou_is_torchvisions():
    """Without the +1 pixel term (iou_plus_one false) the IoU is torchvision's box_iou, an independent one."""
    import torch
    from torchvision.ops import box_iou

    rng = np.random.default_rng(5)
    corners = rng.uniform(0, 50, (30, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(1, 30, (30, 2))], axis=1)
    expected = box_iou(torch.tensor(boxes), torch.tensor(boxes)).numpy()
    for i, box in enumerate(boxes):
        np.testing.assert_allclose(voc_iou(box, boxes, pixel=0), expected[i], rtol=1e-12)
    assert voc_iou(np.array([0, 0, 9, 9]), np.array([[0, 0, 9, 4]]))[0] == pytest.approx(50 / 100)
    assert voc_iou(np.array([0, 0, 9, 9]), np.array([[0, 0, 9, 4]]), pixel=0)[0] == pytest.approx(36 / 81)
