"""The error decomposition worked out by hand: the oracle classifier's scores and its recall, which is the detector's
recall ceiling, under both protocols; perfect localisation's boxes and numbers; and both commands end to end on the
tiny twin, the ground-truth boxes' crops scored as the pipeline scores a proposal's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pipeline_helpers import detector_meta, score_args, write_fake_predictions

from ctcbench.classify.scorer import CellScorer
from ctcbench.cli import main
from ctcbench.detect.evaluate import ground_truth
from ctcbench.errors import ConfigError
from ctcbench.pipeline.decomposition import (
    decomposition_evaluation,
    localised_scores,
    matched,
    oracle_scores,
    recall_ceiling,
    truth_proposals,
    with_recall_ceiling,
)
from ctcbench.pipeline.proposals import proposal_crops
from ctcbench.pipeline.scores import ScoredImage, Scores, read_scores
from ctcbench.protocol import CORRECTED, FAITHFUL
from ctcbench.report.intervals import load_record

A, B, C = "r06c04f01p01", "r07c04f01p01", "r08c04f01p01"
IDS = [A, B, C]
# A: cells A1 [0,0,9,9] and A2 [40,40,49,49]; B: cell B1 [20,20,29,29]; C: none. The detector reaches A1 (twice) and
# B1, never A2: a recall ceiling of 2/3.
TRUTH = {
    A: np.array([[0, 0, 9, 9], [40, 40, 49, 49]], float),
    B: np.array([[20, 20, 29, 29]], float),
    C: np.zeros((0, 4)),
}


def scored(boxes, s_det, s_cls, size=100) -> ScoredImage:
    boxes = np.array(boxes, np.int64).reshape(-1, 4)
    return ScoredImage(size, size, boxes, np.array(s_det, float), np.array(s_cls, float))


def hand_scores(protocol: str) -> Scores:
    """A's proposals: A1 itself (S_det .9), a background box (.8), a near miss of A1 (.7; IoU 36/126 exact, 49/151
    VOC: it reaches no cell) and a duplicate of A1 under the faithful fusion gate (.05; IoU 64/98 exact, 81/119 VOC:
    it reaches A1, and NMS removes it beside A1). B's: B1 found at S_det .06 (under the gate) and a background box.
    C's: a background box. The real classifier likes the background."""
    return Scores(
        meta={"protocol": protocol, "pipeline_run": "faster_rcnn/bf/all/seed0", "detector": detector_meta(protocol)},
        images={
            A: scored(
                [[0, 0, 9, 9], [60, 60, 69, 69], [3, 3, 12, 12], [1, 1, 10, 10]],
                [0.9, 0.8, 0.7, 0.05],
                [0.4, 0.95, 0.25, 0.2],
            ),  # fmt: skip
            B: scored([[20, 20, 29, 29], [70, 70, 79, 79]], [0.06, 0.5], [0.1, 0.99]),
            C: scored([[5, 50, 14, 59]], [0.3], [0.97]),
        },
    )


@pytest.mark.parametrize("protocol", [FAITHFUL, CORRECTED], ids=lambda p: p.name)
def test_the_oracle_keeps_one_box_per_reached_cell_and_its_recall_is_the_ceiling(protocol):
    scores = hand_scores(protocol.name)
    oracle = oracle_scores(scores, TRUTH, protocol)
    # A1 is the evaluation's match of cell A1 (it ranks first by S_det); its duplicate is a false positive.
    assert oracle.images[A].s_cls.tolist() == [1, 0, 0, 0]
    assert oracle.images[B].s_cls.tolist() == [1, 0] and oracle.images[C].s_cls.tolist() == [0]
    assert oracle.meta["decomposition"] == "oracle_classifier"
    ceiling = recall_ceiling(scores, TRUTH, IDS, protocol)
    assert ceiling == 2 / 3
    evaluation = decomposition_evaluation(oracle, TRUTH, IDS, protocol=protocol, nms_iou=0.5)
    metrics = with_recall_ceiling(evaluation.metrics, scores, TRUTH, IDS, protocol)
    # Ranked by S_cls alone (B1 is not gated at S_det .06): A1 TP, B1 TP, then the zeros; precision 1 up to 2/3.
    assert metrics["recall_at_best_f1"] == metrics["recall_ceiling"] == ceiling
    assert metrics["ap50"] == pytest.approx(ceiling) and metrics["best_f1"] == pytest.approx(0.8)
    assert (metrics["omega"], metrics["gate"], metrics["decomposition"]) == (1.0, None, "oracle_classifier")
    patients = metrics["per_patient"]
    assert {p: (v["recall_at_best_f1"], v["recall_ceiling"]) for p, v in patients.items()} == {
        "r06": (0.5, 0.5),
        "r07": (1.0, 1.0),
        "r08": (0.0, 0.0),  # no cell to reach
    }
    assert evaluation.per_image.metrics()["recall_at_best_f1"] == ceiling  # the bootstrap's record agrees


def test_a_duplicate_reaching_the_same_cell_is_not_a_second_match():
    boxes = np.array([[0, 0, 9, 9], [1, 1, 10, 10], [2, 1, 11, 10]])  # all three reach A1
    assert matched(boxes, np.array([0.5, 0.9, 0.1]), TRUTH[A], FAITHFUL).tolist() == [False, True, False]
    assert matched(np.zeros((0, 4)), np.zeros(0), TRUTH[A], FAITHFUL).tolist() == []


def test_the_ceiling_leaves_out_what_the_faithful_protocol_drops():
    """An image without any proposal: its cells count (corrected) or are dropped with it (faithful, defect 17)."""
    scores = hand_scores("faithful")
    scores.images[B] = scored([], [], [])
    assert recall_ceiling(scores, TRUTH, IDS, CORRECTED) == 1 / 3
    assert recall_ceiling(scores, TRUTH, IDS, FAITHFUL) == 1 / 2


def test_perfect_localisation_scores_the_cells_beside_the_detectors_misses():
    scores = hand_scores("corrected")
    proposals = truth_proposals(scores, TRUTH)
    assert proposals[A].boxes.tolist() == [[0, 0, 9, 9], [40, 40, 49, 49]] and len(proposals[C].boxes) == 0
    # What the classifier says of the cells' own crops: A1 .6, A2 .3, B1 .9.
    found = {
        A: scored(proposals[A].boxes, proposals[A].s_det, [0.6, 0.3]),
        B: scored(proposals[B].boxes, proposals[B].s_det, [0.9]),
        C: scored([], [], []),
    }
    localised = localised_scores(scores, TRUTH, found, CORRECTED)
    # The proposals reaching a cell (A1 and its duplicate, B1) give way to the cells; the misses stay, with their
    # own scores, after the cells.
    assert localised.images[A].boxes.tolist() == [[0, 0, 9, 9], [40, 40, 49, 49], [60, 60, 69, 69], [3, 3, 12, 12]]
    assert localised.images[A].s_cls.tolist() == [0.6, 0.3, 0.95, 0.25]
    assert localised.images[B].s_cls.tolist() == [0.9, 0.99] and localised.images[C].s_cls.tolist() == [0.97]
    assert localised.meta["n_ground_truth_boxes"] == 3 and localised.meta["n_proposals"] == 7
    metrics = decomposition_evaluation(localised, TRUTH, IDS, protocol=CORRECTED).metrics
    # Ranking B .99 FP, C .97 FP, A .95 FP, B1 .9 TP, A1 .6 TP, A2 .3 TP, A .25 FP: precision 1/4, 2/5, 3/6 at recall
    # 1/3, 2/3, 1; AP (envelope 1/2 from recall 0 to 1) 1/2; best F1 2 * 3 / (6 + 3) = 2/3 at recall 1.
    assert metrics["ap50"] == pytest.approx(0.5) and metrics["best_f1"] == pytest.approx(2 / 3)
    assert metrics["recall_at_best_f1"] == 1.0 and metrics["n_ground_truth_boxes_scored"] == 3


def test_a_ground_truth_box_over_the_edge_is_clipped_as_a_proposal_is():
    scores = hand_scores("faithful")
    truth = {A: np.array([[95, 90, 101, 99], [100, 0, 104, 9]], float)}
    assert truth_proposals(scores, truth)[A].boxes.tolist() == [[95, 90, 100, 99]]


def test_scores_of_the_real_pipeline_are_not_a_decomposition():
    with pytest.raises(ConfigError, match="scores.json: not an error decomposition's scores"):
        decomposition_evaluation(hand_scores("faithful"), TRUTH, IDS, protocol=FAITHFUL, source="scores.json")


def test_both_commands_end_to_end(tmp_path, pointer, layout, classifiers):
    """pipeline-oracle and pipeline-localised on a pairing's scores.json: their records give back their numbers, the
    cells' crops are scored as pipeline-score scores a proposal's, and another classifier is refused."""
    test_list = layout.split_file("test")
    predictions = write_fake_predictions(tmp_path / "predictions.json", layout, "test", detector_meta("faithful"))
    scores_path = tmp_path / "scores.json"
    assert main(score_args(pointer, test_list, predictions, classifiers["faithful"], "faithful", scores_path)) == 0
    common = ["--dataset", str(pointer), "--image-list", str(test_list), "--scores", str(scores_path),
              "--protocol", "faithful"]  # fmt: skip
    oracle = tmp_path / "oracle" / "metrics.json"
    assert main(["pipeline-oracle", *common, "--out", str(oracle)]) == 0
    record = json.loads(oracle.read_text())
    assert record["recall_at_best_f1"] == record["recall_ceiling"] > 0 and record["per_image"] == "per_image.npz"
    assert load_record(oracle.parent / "per_image.npz").metrics()["ap50"] == record["ap50"]

    localised = tmp_path / "localised"
    args = ["pipeline-localised", *common, "--classifier", str(classifiers["faithful"]), "--device", "cpu",
            "--out-scores", str(localised / "scores.json"), "--out", str(localised / "metrics.json")]  # fmt: skip
    assert main(args) == 0
    record = json.loads((localised / "metrics.json").read_text())
    assert record["decomposition"] == "perfect_localisation" and record["omega"] == 1.0
    assert load_record(localised / "per_image.npz").metrics()["best_f1"] == record["best_f1"]
    ids = layout.read_split("test")
    truth = ground_truth(layout, "test", ids)
    written = read_scores(localised / "scores.json")
    cells = truth_proposals(read_scores(scores_path), truth)
    expected = CellScorer(classifiers["faithful"], "cpu").p_cancer(proposal_crops(layout, cells, "opencv"))
    got = np.concatenate([written.images[i].s_cls[: len(cells[i].boxes)] for i in ids])
    assert np.allclose(got, expected, atol=1e-6) and record["n_ground_truth_boxes_scored"] == len(expected) > 0

    other = [*args[:-4], "--classifier", str(classifiers["corrected"]), *args[-4:]]
    assert main(other) == 1
