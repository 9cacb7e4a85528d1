"""Fig. 9: TP/FP/FN marking of a hand-made case, the CSV of a hand-made pipeline run, the CLI end to end and its
missing-input errors."""

import csv

import numpy as np
import pytest
from report_helpers import TINY_IDS, TINY_RUN, write_tiny_pipeline_run

from ctcbench.cli import main
from ctcbench.data.pointer import read_pointer
from ctcbench.errors import ConfigError
from ctcbench.io import read_json
from ctcbench.pipeline.scores import read_scores
from ctcbench.report.qualitative import mark, pick_images, qualitative_images, qualitative_rows

CELLS = np.array([[0, 0, 9, 9], [20, 20, 29, 29], [50, 50, 59, 59]], float)


def test_marking_follows_the_greedy_evaluation():
    # Given out of order: P0 [20..29] .5 (exactly the threshold), P1 [1..10] .9, P2 [70..79] .7, P3 [0..9] .8,
    # P4 [50..59] .3 (below the threshold). By score: P1 takes cell 0 (VOC IoU 81/119), P3 is a duplicate of
    # cell 0 (IoU 1, already taken: FP), P2 is background (FP), P0 takes cell 1; cell 2 is missed (P4 not shown).
    boxes = np.array([[20, 20, 29, 29], [1, 1, 10, 10], [70, 70, 79, 79], [0, 0, 9, 9], [50, 50, 59, 59]], float)
    scores = np.array([0.5, 0.9, 0.7, 0.8, 0.3])
    marks = mark(boxes, scores, CELLS, threshold=0.5)
    assert marks.order.tolist() == [1, 3, 2, 0]
    assert marks.true_positive.tolist() == [True, False, False, True]
    assert marks.iou == pytest.approx([81 / 119, 1.0, 0.0, 1.0])
    assert marks.matched.tolist() == [True, True, False]
    # Every prediction shown: P4 now takes cell 2. None shown: every cell is missed.
    assert mark(boxes, scores, CELLS, threshold=0.0).matched.tolist() == [True, True, True]
    nothing = mark(boxes, scores, CELLS, threshold=np.inf)
    assert (len(nothing.order), nothing.matched.tolist()) == (0, [False, False, False])
    # An image without ground truth: every shown prediction is a false positive.
    alone = mark(boxes, scores, np.zeros((0, 4)), threshold=0.5)
    assert not alone.true_positive.any() and alone.iou.tolist() == [0.0] * 4


def test_images_are_taken_in_turn_from_each_patient():
    truth = {
        "r06c01f01p01": np.zeros((3, 4)),
        "r06c01f02p01": np.zeros((5, 4)),
        "r07c01f01p01": np.zeros((1, 4)),
        "r08c01f01p01": np.zeros((0, 4)),
        "r08c01f02p01": np.zeros((0, 4)),
    }
    assert pick_images(truth, 3) == ["r06c01f02p01", "r07c01f01p01", "r08c01f01p01"]
    assert pick_images(truth, 5)[3:] == ["r06c01f01p01", "r08c01f02p01"]
    assert len(pick_images(truth, 9)) == 5
    with pytest.raises(ConfigError, match="--images 0"):
        pick_images(truth, 0)


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def box_of(row):
    return [int(row[k]) for k in ("x1", "y1", "x2", "y2")]


def test_cli_writes_the_figure_and_its_boxes(tmp_path):
    pointer, scores, metrics = write_tiny_pipeline_run(tmp_path)
    assert read_json(metrics)["score_at_best_f1"] == pytest.approx(0.29)
    out = tmp_path / "figs"
    argv = [
        "report-figures",
        "--scores",
        str(scores),
        "--pipeline-metrics",
        str(metrics),
        "--dataset",
        str(pointer),
        "--images",
        "3",
        "--fig9-png",
        str(out / "fig9_predictions.png"),
        "--fig9-csv",
        str(out / "fig9_predictions.csv"),
    ]
    assert main(argv) == 0
    rows = read_csv(out / "fig9_predictions.csv")
    got = [(r["image_id"], r["kind"], box_of(r), r["score"], r["s_det"], r["s_cls"]) for r in rows]
    a, b = TINY_IDS[:2]
    assert got == [
        (a, "tp", [4, 4, 13, 13], "0.900000", "0.900000", "0.900000"),
        (a, "fp", [40, 40, 49, 49], "0.800000", "0.800000", "0.800000"),
        (a, "gt", [4, 4, 13, 13], "", "", ""),
        (a, "fn", [30, 30, 39, 39], "", "", ""),
        (b, "tp", [11, 11, 20, 20], "0.290000", "0.500000", "0.200000"),  # .25 of image C is below .29
        (b, "gt", [10, 10, 19, 19], "", "", ""),
    ]
    assert rows[4]["iou"] == f"{81 / 119:.6f}" and {r["threshold"] for r in rows} == {"0.290000"}
    png = out / "fig9_predictions.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    height, width = matplotlib.image.imread(png).shape[:2]
    assert width > height > 500


def test_counts_of_every_image_add_up_to_the_evaluation(tmp_path):
    pointer, scores, metrics = write_tiny_pipeline_run(tmp_path)
    record = read_json(metrics)
    images = qualitative_images(
        read_scores(scores), record, read_pointer(pointer).layout, image_ids=list(TINY_IDS), read_display=False
    )
    tp = sum(image.counts["tp"] for image in images)
    shown = sum(len(image.scores) for image in images)
    assert tp / shown == pytest.approx(record["precision_at_best_f1"])
    assert tp / record["n_ground_truth"] == pytest.approx(record["recall_at_best_f1"])
    assert [image.counts for image in images] == [
        {"tp": 1, "fp": 1, "fn": 1},
        {"tp": 1, "fp": 0, "fn": 0},
        {"tp": 0, "fp": 0, "fn": 0},
    ]
    assert len(qualitative_rows(images, record["score_at_best_f1"])) == 6


def test_metrics_of_another_run_are_refused(tmp_path):
    pointer, scores, metrics = write_tiny_pipeline_run(tmp_path)
    record = {**read_json(metrics), "pipeline_run": "fcos/bf_fluo/all/seed0"}
    with pytest.raises(ConfigError, match=f"pipeline run 'fcos/bf_fluo/all/seed0' differs from '{TINY_RUN}'"):
        qualitative_images(read_scores(scores), record, read_pointer(pointer).layout, read_display=False)


@pytest.mark.parametrize(
    "missing, rule",
    [("scores", "pipeline_score"), ("metrics", "pipeline_evaluate"), ("dataset", "synth_dataset")],
)
def test_missing_input_names_file_and_rule(tmp_path, capsys, missing, rule):
    paths = {
        "dataset": tmp_path / "dataset.json",
        "scores": tmp_path / "scores.json",
        "metrics": tmp_path / "omega0.7" / "metrics.json",
    }
    for name, path in paths.items():
        if name != missing:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
    argv = [
        "report-figures",
        "--scores",
        str(paths["scores"]),
        "--pipeline-metrics",
        str(paths["metrics"]),
        "--dataset",
        str(paths["dataset"]),
        "--fig9-png",
        str(tmp_path / "figs" / "fig9.png"),
        "--fig9-csv",
        str(tmp_path / "figs" / "fig9.csv"),
    ]
    assert main(argv) == 1
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and str(paths[missing]) in error and rule in error and "rule " in error
    assert not (tmp_path / "figs").exists()


def test_absent_arguments(tmp_path, capsys):
    assert main(["report-figures", "--fig9-png", str(tmp_path / "9.png"), "--fig9-csv", str(tmp_path / "9.csv")]) == 1
    assert "--scores is needed" in capsys.readouterr().err
    assert main(["report-figures", "--scores", "s.json"]) == 1  # no output named: nothing to draw
    assert "no output named" in capsys.readouterr().err
