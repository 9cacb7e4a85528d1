"""The human ceiling: each expert's test boxes scored against the other's and the union's, worked out by hand."""

from __future__ import annotations

import shutil

import pytest

from ctcbench.data.agreement import agreement
from ctcbench.protocol import CORRECTED, FAITHFUL
from ctcbench.report.results import HUMAN, Results, detection_results, human_results
from ctcbench.report.table_specs import TABLES
from ctcbench.report.views import render

# tests/data/conftest.py: test images r06/r07/r08 with R boxes in slots 0.. of a grid, per annotator
# Unioned 2/1/3, Expert1 2/1/2, Expert2 1/1/3; an annotator's k boxes are the first k slots, so they coincide.


def test_experts_against_each_other_and_the_union(tiny_dataset):
    record = agreement(tiny_dataset.layout, tiny_dataset.ids("test"), FAITHFUL)
    pairs = {(p["annotator"], p["reference"]): p for p in record["pairs"]}
    # Expert 1 against Expert 2: 5 boxes each, 4 shared (r06: 1 of 2, r07: 1 of 1, r08: 2 of 3).
    e1_e2 = pairs[("Expert1", "Expert2")]
    assert (e1_e2["precision"], e1_e2["recall"], e1_e2["f1"]) == pytest.approx((0.8, 0.8, 0.8))
    assert pairs[("Expert2", "Expert1")]["f1"] == pytest.approx(e1_e2["f1"])
    # Against the union (6 boxes): Expert 1's 5 are all in it, Expert 2's 5 too.
    e1_u = pairs[("Expert1", "Unioned")]
    assert (e1_u["precision"], e1_u["recall"], e1_u["f1"]) == pytest.approx((1.0, 5 / 6, 10 / 11))
    assert e1_e2["per_patient"]["r06"]["precision"] == pytest.approx(0.5)
    assert e1_e2["per_patient"]["r08"]["recall"] == pytest.approx(2 / 3)
    assert "AP is not defined" in record["ap_note"] and record["skipped"] == []
    assert record["iou_convention"] == "VOC +1 pixel"
    assert agreement(tiny_dataset.layout, tiny_dataset.ids("test"), CORRECTED)["iou_convention"] == "exact"


def test_a_copy_without_an_experts_folder_skips_its_pairs(tiny_dataset):
    shutil.rmtree(tiny_dataset.layout.annotations_dir / "test" / "Expert2")
    record = agreement(tiny_dataset.layout, tiny_dataset.ids("test"), FAITHFUL)
    assert [(p["annotator"], p["reference"]) for p in record["pairs"]] == [("Expert1", "Unioned")]
    assert len(record["skipped"]) == 3 and "Expert2" in record["skipped"][0]["why"]


def test_the_agreement_table_and_the_two_experts_row_of_table_4(tiny_dataset):
    record = agreement(tiny_dataset.layout, tiny_dataset.ids("test"), FAITHFUL)
    results = Results(human_results(record, "agreement.json"))
    assert {r.stage for r in results.rows} == {HUMAN} and {r.setting for r in results.rows} == {""}
    rows, markdown = render(TABLES["human_agreement"], {"patients": ["r06", "r07", "r08"]}, results, [])
    f1 = next(r for r in rows if (r["annotator"], r["reference"], r["metric"], r["tested_on"]) ==
              ("Expert1", "Expert2", "f1", "all"))  # fmt: skip
    assert float(f1["mean"]) == pytest.approx(80.0)
    assert "| Expert1 | Expert2 |" in markdown and "AP is not defined" in markdown
    detectors = [
        detection_results(
            {"run": f"faster_rcnn/{s}/all/seed0", "ap50": 0.5, "best_f1": 0.6, "test_annotator": "Unioned"}, f"{s}.json"
        )  # fmt: skip
        for s in ("bf", "bf_hoechst", "bf_fluo")
    ]
    results = Results([*results.rows, *(row for rows in detectors for row in rows)])
    rows, markdown = render(TABLES["table4_image_level"], {"omegas": [0.7], "annotator": "Unioned"}, results, [])
    experts = [r for r in rows if r["detector"] == "experts"]
    assert {r["metric"] for r in experts} == {"ap50", "f1"}
    assert [float(r["mean"]) for r in experts if r["metric"] == "f1"] == pytest.approx([80.0] * 3)
    assert all(r["mean"] in ("", None) for r in experts if r["metric"] == "ap50")
    assert "| Two experts agree | Human |" in markdown and "AP is not defined" in markdown
    params6 = {"detector": "faster_rcnn", "setting": "bf_hoechst", "omega": 0.7, "annotator": "Unioned",
               "patients": ["r06", "r07", "r08"]}  # fmt: skip
    rows, markdown = render(TABLES["table6_patients"], params6, results, [])
    r06 = next(r for r in rows if r["detector"] == "experts" and r["tested_on"] == "r06")
    assert float(r06["mean"]) == pytest.approx(200 / 3)  # r06: Expert 1's 2 boxes, 1 of them Expert 2's only one
    assert "| Two experts agree (human) |" in markdown


def test_an_annotator_against_itself_agrees_fully(tiny_dataset):
    from ctcbench.data.agreement import _scores
    from ctcbench.detect.evaluate import ground_truth

    ids = tiny_dataset.ids("test")
    boxes = ground_truth(tiny_dataset.layout, "test", ids, "Expert1")
    for pixel in (0, 1):
        scores = _scores(boxes, boxes, ids, pixel)
        assert (scores["f1"], scores["precision"], scores["recall"]) == (1.0, 1.0, 1.0)
