"""Image-level evaluation of fused scores: a two-image case worked out by hand where the classifier changes the
ranking (and which box survives NMS), ω = 0 against the detection stage, and the corrected protocol's threshold
chosen on val and applied to test."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline_helpers import detector_meta, fake_predictions

from ctcbench.data.layout import DatasetLayout
from ctcbench.data.voc import Box, VocAnnotation, write_voc
from ctcbench.detect.evaluate import detection_stage_metrics, image_level_metrics
from ctcbench.detect.metrics import match, threshold_metrics
from ctcbench.detect.predictions import ImageDetections, Predictions
from ctcbench.errors import ConfigError, DatasetError
from ctcbench.pipeline.evaluate import fused_detections, pipeline_metrics
from ctcbench.pipeline.proposals import propose
from ctcbench.pipeline.scores import ScoredImage, Scores
from ctcbench.protocol import CORRECTED, FAITHFUL

A, B = "r06c04f01p01", "r07c04f01p01"
TRUTH = {A: np.array([[0, 0, 9, 9]], float), B: np.array([[20, 20, 29, 29]], float)}


def scored(boxes, s_det, s_cls, size=100) -> ScoredImage:
    boxes = np.array(boxes, np.int64).reshape(-1, 4)
    return ScoredImage(size, size, boxes, np.array(s_det, float), np.array(s_cls, float))


# A1 and B3 are the cells; A5 overlaps A1 (torchvision IoU 64/98), B6 sits under the faithful gate.
HAND = Scores(
    meta={"protocol": "faithful"},
    images={
        A: scored([[0, 0, 9, 9], [50, 50, 59, 59], [1, 1, 10, 10]], [0.6, 0.8, 0.9], [0.9, 0.1, 0.05]),
        B: scored([[20, 20, 29, 29], [0, 0, 9, 9], [60, 60, 69, 69]], [0.5, 0.7, 0.05], [0.8, 0.2, 0.99]),
    },
)


def test_detector_scores_alone():
    # omega 0: A5 (0.9) suppresses A1 and still matches A's cell (VOC IoU 81/119). Ranking A5 TP, A2 FP, B4 FP,
    # B3 TP, B6 FP: precision 1, 1/2, 1/3, 1/2, 2/5; recall 1/2, 1/2, 1/2, 1, 1. AP = 1/2 + 1/2 * 1/2 = 3/4;
    # best F1 2/3, first reached at A5 (0.9).
    detections = fused_detections(HAND, [A, B], omega=0.0, gate=0.1, nms_iou=0.5)
    assert detections[A][1].tolist() == [0.9, 0.8]
    result = image_level_metrics(detections, TRUTH, [A, B], FAITHFUL)
    assert result["ap50"] == pytest.approx(0.75)
    assert (result["best_f1"], result["score_at_best_f1"]) == pytest.approx((2 / 3, 0.9))


def test_classifier_reorders_the_boxes():
    # omega 0.7, gate 0.1: A1 0.18 + 0.63 = 0.81 now suppresses A5 (0.27 + 0.035 = 0.305); A2 0.24 + 0.07 = 0.31;
    # B3 0.15 + 0.56 = 0.71; B4 0.21 + 0.14 = 0.35; B6 is gated at 0.05 (fused it would be 0.708, above B4).
    # Ranking A1 TP, B3 TP, B4 FP, A2 FP, B6 FP: AP 1, best F1 1 at 0.71.
    detections = fused_detections(HAND, [A, B], omega=0.7, gate=0.1, nms_iou=0.5)
    assert detections[A][0].tolist() == [[0, 0, 9, 9], [50, 50, 59, 59]]
    assert detections[A][1] == pytest.approx([0.81, 0.31])
    assert detections[B][1] == pytest.approx([0.71, 0.35, 0.05])
    result = image_level_metrics(detections, TRUTH, [A, B], FAITHFUL)
    assert result["ap50"] == pytest.approx(1.0)
    assert (result["best_f1"], result["score_at_best_f1"]) == pytest.approx((1.0, 0.71))
    assert result["per_patient"]["r07"]["n_predictions"] == 3
    ungated = fused_detections(HAND, [A, B], omega=0.7, gate=None, nms_iou=0.5)
    assert ungated[B][1] == pytest.approx([0.71, 0.708, 0.35])  # NMS returns boxes by descending score


def test_missing_image_is_an_error():
    with pytest.raises(DatasetError, match="scores.json: no entry for image r08c04f01p01"):
        fused_detections(HAND, [A, "r08c04f01p01"], 0.7, 0.1, 0.5, source="scores.json")


@pytest.mark.parametrize("seed", [0, 1])
def test_omega_zero_is_the_detection_stage(layout, seed):
    ids = layout.read_split("test")
    predictions = fake_predictions(layout, "test", ids, detector_meta("faithful"), seed)
    proposals = propose(predictions, ids, FAITHFUL, 0.5)
    rng = np.random.default_rng(seed)
    scores = Scores(
        meta={"protocol": "faithful", "detector": predictions.meta},
        images={i: ScoredImage(**vars(p), s_cls=rng.uniform(0, 1, len(p.boxes))) for i, p in proposals.items()},
    )
    expected = detection_stage_metrics(predictions, layout, ids, "Unioned", FAITHFUL, 0.5)
    got = pipeline_metrics(scores, layout, ids, omega=0.0, protocol=FAITHFUL)
    assert expected["n_predictions"] > 0
    for key, value in expected.items():
        assert got[key] == value, key


def write_annotation(layout: DatasetLayout, split: str, image_id: str, boxes: list[list[int]]) -> None:
    objects = [Box("R", *box) for box in boxes] + [Box("G", 90, 90, 99, 99)]
    write_voc(layout.annotation_xml(split, image_id), VocAnnotation(f"{image_id}.tiff", 100, 100, 3, objects))


def test_heldout_threshold_chosen_on_val_and_applied_to_test(tmp_path):
    layout = DatasetLayout(tmp_path)
    v, t1, t2 = "r06c04f05p01", "r06c04f01p01", "r07c04f01p01"
    write_annotation(layout, "val", v, [[0, 0, 9, 9], [20, 20, 29, 29]])
    write_annotation(layout, "test", t1, [[0, 0, 9, 9], [20, 20, 29, 29], [40, 40, 49, 49]])
    write_annotation(layout, "test", t2, [[0, 0, 9, 9]])
    meta = {"protocol": "corrected", "detector": {"run": "d", "model_sha256": "1"}, "classifier": {"sha256": "2"}}
    cells = [[0, 0, 9, 9], [50, 50, 59, 59], [20, 20, 29, 29], [70, 70, 79, 79]]
    # omega 1 without gate: the fused score is S_cls. Val: TP 0.9, FP 0.8, TP 0.6, FP 0.3 -> F1 2/3, 1/2, 4/5,
    # 2/3: the threshold is 0.6.
    val = Scores(meta, {v: scored(cells, [0.5] * 4, [0.9, 0.8, 0.6, 0.3])})
    t1_boxes = [[0, 0, 9, 9], [20, 20, 29, 29], [40, 40, 49, 49], [60, 60, 69, 69]]
    test = Scores(
        meta,
        {
            t1: scored(t1_boxes, [0.5] * 4, [0.95, 0.65, 0.55, 0.7]),
            t2: scored([[0, 0, 9, 9], [30, 30, 39, 39]], [0.5] * 2, [0.5, 0.62]),
        },
    )
    metrics = pipeline_metrics(test, layout, [t1, t2], omega=1.0, protocol=CORRECTED, val=(val, [v]))
    # Test, >= 0.6: TP 0.95, FP 0.7, TP 0.65, FP 0.62 -> precision 2/4, recall 2/4.
    assert metrics["heldout"] == pytest.approx({"threshold": 0.6, "f1": 0.5, "precision": 0.5, "recall": 0.5})
    # r06: TP, FP, TP of 3 cells; r07: one FP, its cell (0.5) below the threshold.
    assert metrics["per_patient"]["r06"]["heldout"] == pytest.approx(
        {"threshold": 0.6, "f1": 2 / 3, "precision": 2 / 3, "recall": 2 / 3}
    )
    assert metrics["per_patient"]["r07"]["heldout"] == pytest.approx(
        {"threshold": 0.6, "f1": 0.0, "precision": 0.0, "recall": 0.0}
    )
    # The oracle keeps everything: recall 4/4 at precision 4/6, F1 0.8 at 0.5.
    assert (metrics["best_f1"], metrics["score_at_best_f1"]) == pytest.approx((0.8, 0.5))
    assert metrics["val"]["best_f1"] == pytest.approx(0.8) and metrics["val"]["n_ground_truth"] == 2

    # No box on val: nothing can be tuned, so nothing is predicted on test either (threshold null in JSON).
    empty = Scores(meta, {v: scored([], [], [])})
    nothing = pipeline_metrics(test, layout, [t1, t2], omega=1.0, protocol=CORRECTED, val=(empty, [v]))
    assert nothing["heldout"] == {"threshold": None, "f1": 0.0, "precision": 0.0, "recall": 0.0}

    other = Scores({**meta, "classifier": {"sha256": "3"}}, val.images)
    with pytest.raises(ConfigError, match="classifier differs"):
        pipeline_metrics(test, layout, [t1, t2], omega=1.0, protocol=CORRECTED, val=(other, [v]))
    faithful = Scores({**meta, "protocol": "faithful"}, test.images)
    with pytest.raises(ConfigError, match="needs image_threshold: heldout"):
        pipeline_metrics(faithful, layout, [t1, t2], omega=1.0, protocol=FAITHFUL, val=(val, [v]))
    with pytest.raises(ConfigError, match="scored with protocol 'corrected', not faithful"):
        pipeline_metrics(test, layout, [t1, t2], omega=1.0, protocol=FAITHFUL)


def test_detection_stage_takes_its_threshold_from_val_too(tmp_path):
    """The corrected detection stage: the same hand case with the detector's scores in place of the fused ones
    (no boxes overlap, so neither NMS changes anything)."""
    layout = DatasetLayout(tmp_path)
    v, t1, t2 = "r06c04f05p01", "r06c04f01p01", "r07c04f01p01"
    write_annotation(layout, "val", v, [[0, 0, 9, 9], [20, 20, 29, 29]])
    write_annotation(layout, "test", t1, [[0, 0, 9, 9], [20, 20, 29, 29], [40, 40, 49, 49]])
    write_annotation(layout, "test", t2, [[0, 0, 9, 9]])

    def predictions(images, sha="1"):
        return Predictions(
            {"run": "d", "model_sha256": sha},
            {
                k: ImageDetections(100, 100, np.array(b, float).reshape(-1, 4), np.array(s, float))
                for k, (b, s) in images.items()
            },
        )

    val = predictions({v: ([[0, 0, 9, 9], [50, 50, 59, 59], [20, 20, 29, 29], [70, 70, 79, 79]], [0.9, 0.8, 0.6, 0.3])})
    test = predictions(
        {
            t1: ([[0, 0, 9, 9], [20, 20, 29, 29], [40, 40, 49, 49], [60, 60, 69, 69]], [0.95, 0.65, 0.55, 0.7]),
            t2: ([[0, 0, 9, 9], [30, 30, 39, 39]], [0.5, 0.62]),
        }
    )
    metrics = detection_stage_metrics(test, layout, [t1, t2], "Unioned", CORRECTED, 0.5, val=(val, [v]))
    assert metrics["heldout"] == pytest.approx({"threshold": 0.6, "f1": 0.5, "precision": 0.5, "recall": 0.5})
    assert metrics["per_patient"]["r06"]["heldout"]["f1"] == pytest.approx(2 / 3)
    assert metrics["val"]["best_f1"] == pytest.approx(0.8) and "heldout" in metrics["threshold_choice"]
    assert "heldout" not in detection_stage_metrics(test, layout, [t1, t2], "Unioned", CORRECTED, 0.5)
    with pytest.raises(ConfigError, match="another model"):
        detection_stage_metrics(test, layout, [t1, t2], "Unioned", CORRECTED, 0.5, val=(predictions({}, "2"), [v]))
    with pytest.raises(ConfigError, match="needs image_threshold: heldout"):
        detection_stage_metrics(test, layout, [t1, t2], "Unioned", FAITHFUL, 0.5, val=(val, [v]))


def test_threshold_counts_every_prediction_at_or_above_it():
    boxes = np.array([[0, 0, 9, 9], [50, 50, 59, 59], [60, 60, 69, 69], [20, 20, 29, 29]], float)
    curve = match({A: (boxes, np.array([0.9, 0.6, 0.6, 0.3]))}, {A: np.array([[0, 0, 9, 9], [20, 20, 29, 29]])})
    # Both 0.6 boxes count (TP, FP, FP): precision 1/3, recall 1/2, F1 2/5.
    point = threshold_metrics(curve, 0.6)
    assert (point.precision, point.recall, point.f1) == pytest.approx((1 / 3, 1 / 2, 0.4))
    assert threshold_metrics(curve, 0.95).to_dict() == {"threshold": 0.95, "f1": 0.0, "precision": 0.0, "recall": 0.0}
