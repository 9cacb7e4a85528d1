"""Random boxes, the chance control of the image level: each image's cancer-cell count and box sizes at random places
inside it, one draw per seed and image, scoring near zero where the ground truth itself scores one, and the command
on the tiny twin writing a detector's metrics and per-image record under a control run of its own."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from detect_helpers import image_list

from ctcbench.cli import main
from ctcbench.data.pointer import read_pointer
from ctcbench.detect.evaluate import ground_truth, image_level_evaluation
from ctcbench.detect.image_matches import ImageMatches
from ctcbench.detect.random_boxes import draw_boxes, random_predictions
from ctcbench.per_image import per_image_path
from ctcbench.plan.runs import ControlRun
from ctcbench.protocol import CORRECTED, FAITHFUL
from ctcbench.report.results import CONTROL, results_of

RUN = ControlRun("random_boxes", "any", 0)
TRUTH = {
    "r06c01f01p01": np.array([[10, 10, 30, 40], [50, 60, 62, 70], [10, 10, 30, 40], [0, 90, 128, 100]]),
    "r07c01f01p01": np.zeros((0, 4), int),
    "r08c01f01p01": np.array([[3, 4, 23, 19]]),
}
SIZES = {image_id: (128, 100) for image_id in TRUTH}


def box_sizes(boxes: np.ndarray) -> Counter:
    boxes = np.asarray(boxes).reshape(-1, 4)
    return Counter(zip((boxes[:, 2] - boxes[:, 0]).tolist(), (boxes[:, 3] - boxes[:, 1]).tolist()))


def test_each_image_gets_its_cancer_cell_count_at_their_sizes_inside_it():
    predictions = random_predictions(TRUTH, SIZES, 3, RUN)
    assert list(predictions.images) == list(TRUTH)
    for image_id, truth in TRUTH.items():
        drawn = predictions.images[image_id]
        assert (drawn.width, drawn.height) == SIZES[image_id]
        assert len(drawn.boxes) == len(drawn.scores) == len(truth)
        assert box_sizes(drawn.boxes) == box_sizes(truth)  # the multiset of sizes, repeats included
        assert np.all(drawn.boxes[:, :2] >= 0) and np.all(drawn.boxes[:, 2:] <= [128, 100])
        assert np.array_equal(drawn.boxes, np.round(drawn.boxes))  # whole pixels: formatting keeps every size
        assert np.all((drawn.scores >= 0) & (drawn.scores < 1))
    assert predictions.meta["run"] == "random_boxes/any/seed0" and predictions.meta["detector"] == "random_boxes"


def test_a_draw_depends_on_its_seed_and_image_alone():
    """The same seed draws the same boxes whatever else is listed and in whatever order; another seed moves them."""
    first = random_predictions(TRUTH, SIZES, 3, RUN).images["r06c01f01p01"]
    alone = {"r06c01f01p01": TRUTH["r06c01f01p01"]}
    again = random_predictions(dict(reversed(list(TRUTH.items()))), SIZES, 3, RUN).images["r06c01f01p01"]
    for other in (random_predictions(alone, SIZES, 3, RUN).images["r06c01f01p01"], again):
        assert np.array_equal(other.boxes, first.boxes) and np.array_equal(other.scores, first.scores)
    moved = random_predictions(TRUTH, SIZES, 4, RUN).images["r06c01f01p01"]
    assert not np.array_equal(moved.boxes, first.boxes) and not np.array_equal(moved.scores, first.scores)


def test_a_box_larger_than_its_image_is_cut_to_it():
    boxes, scores = draw_boxes(np.array([[0, 0, 60, 10]]), 50, 40, np.random.default_rng(0))
    assert boxes[0, 0] == 0 and boxes[0, 2] == 50 and boxes[0, 3] - boxes[0, 1] == 10 and len(scores) == 1


def test_random_boxes_score_near_zero_where_the_ground_truth_scores_one():
    """40 images of 256 x 256 with 8 cells of 20-28 px each: the draws of three seeds, scored by the image level's
    own code, find almost none; the same code gives the ground truth itself AP50 1."""
    rng = np.random.default_rng(7)
    ids = [f"r0{6 + i % 3}c01f{i:02d}p01" for i in range(40)]
    truth = {}
    for image_id in ids:
        corners = rng.integers(0, 220, (8, 2))
        truth[image_id] = np.hstack([corners, corners + rng.integers(20, 29, (8, 2))]).astype(np.float64)
    sizes = {image_id: (256, 256) for image_id in ids}
    for seed in (0, 1, 2):
        drawn = random_predictions(truth, sizes, seed, ControlRun("random_boxes", "any", seed)).as_arrays()
        numbers, _ = image_level_evaluation(drawn, truth, ids, CORRECTED)
        assert numbers["n_predictions"] == numbers["n_ground_truth"] == 320
        assert numbers["ap50"] < 0.02 and numbers["best_f1"] < 0.05, (seed, numbers["ap50"], numbers["best_f1"])
    perfect = {image_id: (boxes, np.linspace(1.0, 0.5, len(boxes))) for image_id, boxes in truth.items()}
    assert image_level_evaluation(perfect, truth, ids, CORRECTED)[0]["ap50"] == pytest.approx(1.0)


@pytest.mark.parametrize("protocol", [FAITHFUL, CORRECTED], ids=lambda p: p.name)
def test_the_command_scores_a_draw_on_the_twin_as_a_detector(twin, tmp_path, protocol):
    """metrics.json with the detection stage's keys (and the threshold chosen on a val draw under heldout), its
    per-image record over the test images, and rows of stage `control` in the long results table."""
    layout = read_pointer(twin).layout
    test_ids, val_ids = layout.read_split("test"), layout.read_split("val")
    out = tmp_path / "controls" / "metrics.json"
    args = ["random-boxes", "--dataset", str(twin), "--image-list", str(image_list(tmp_path / "test.txt", test_ids)),
            "--seed", "2", "--protocol", protocol.name, "--out", str(out)]  # fmt: skip
    if protocol.image_threshold == "heldout":
        args += ["--val-list", str(image_list(tmp_path / "val.txt", val_ids))]
    assert main(args) == 0
    metrics = json.loads(out.read_text())
    assert metrics["control"] == metrics["run"] == "random_boxes/any/seed2" and metrics["protocol"] == protocol.name
    cancer = sum(len(boxes) for boxes in ground_truth(layout, "test", test_ids).values())
    assert 0 < metrics["n_predictions"] <= cancer  # one box per cancer cell, less those NMS removes where two overlap
    assert ("heldout" in metrics) == (protocol.image_threshold == "heldout")
    record = ImageMatches.from_arrays(dict(np.load(per_image_path(out))))
    assert record.images.tolist() == test_ids
    assert record.metrics()["ap50"] == pytest.approx(metrics["ap50"])
    rows = results_of(out)
    assert {(r.stage, r.detector, r.setting, r.trainset, r.seed, r.omega) for r in rows} == {
        (CONTROL, "random_boxes", "", "", 2, None)
    }
