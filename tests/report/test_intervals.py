"""Uncertainty in the result tables: the per-image records beside every metrics.json give its numbers back exactly,
the bootstrap resamples images within patients, the paired test and Holm's correction, and the interval columns and
comparison tables that the table commands write."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from pointer_helpers import write_twin_pointer
from report_helpers import random_detections

from ctcbench.classify.crop_records import CropRecords
from ctcbench.classify.evaluate import cell_evaluation
from ctcbench.classify.predict import Predictions
from ctcbench.cli import main
from ctcbench.detect.evaluate import image_level_evaluation
from ctcbench.detect.image_matches import ImageMatches
from ctcbench.errors import ConfigError
from ctcbench.per_image import Evaluation, per_image_path, write_evaluation
from ctcbench.protocol import CORRECTED, FAITHFUL
from ctcbench.report.bootstrap import Bootstrap, holm, percentile_interval, resample_counts
from ctcbench.report.comparisons import COLUMNS as COMPARISON_COLUMNS
from ctcbench.report.comparisons import render_comparisons
from ctcbench.report.intervals import Intervals, load_record
from ctcbench.report.results import Result, Results
from ctcbench.report.table_specs import TABLES
from ctcbench.report.views import render

PATIENTS = ("r06", "r07", "r08")
IMAGE_KEYS = ("ap50", "best_f1", "precision_at_best_f1", "recall_at_best_f1", "score_at_best_f1", "n_ground_truth",
              "n_predictions", "n_true_positive", "n_images", "heldout")  # fmt: skip


def image_ids_of(per_patient: int = 10) -> list[str]:
    return [f"{p}c01f{i:02d}p01" for p in PATIENTS for i in range(per_patient)]


def random_case(seed: int, hit: float = 0.7, per_patient: int = 10):
    """(detections, truth, image ids) of `per_patient` images per patient (report_helpers.random_detections)."""
    return random_detections(seed, hit, per_patient)


def reproduced(again: dict, record: dict, keys=IMAGE_KEYS) -> bool:
    return {k: again.get(k) for k in keys} == {k: record.get(k) for k in keys}


# -- Per-image records: they give the evaluation's numbers back. ----------------------------------------------------
@pytest.mark.parametrize("protocol", [FAITHFUL, CORRECTED], ids=["faithful", "corrected"])
def test_image_matches_give_back_every_number_overall_and_per_patient(tmp_path, protocol):
    detections, truth, ids = random_case(0)
    metrics, matches = image_level_evaluation(detections, truth, ids, protocol, threshold=0.6)
    assert metrics["n_true_positive"] > 10 and "heldout" in metrics
    path = tmp_path / "metrics.json"
    written = write_evaluation(Evaluation(metrics, matches), path, per_image_path(path))
    assert written["per_image"] == "per_image.npz" and json.loads(path.read_text()) == written
    loaded = load_record(tmp_path / "per_image.npz")
    assert isinstance(loaded, ImageMatches) and list(loaded.images) == ids
    assert reproduced(loaded.metrics(), metrics)
    for patient, numbers in metrics["per_patient"].items():
        assert reproduced(loaded.metrics(loaded.image_patients == patient), numbers)


def test_the_faithful_record_counts_no_ground_truth_for_images_without_detections():
    detections, truth, ids = random_case(1)
    detections[ids[0]] = (np.zeros((0, 4)), np.zeros(0))
    assert len(truth[ids[0]]) > 0
    faithful = image_level_evaluation(detections, truth, ids, FAITHFUL)[1]
    corrected = image_level_evaluation(detections, truth, ids, CORRECTED)[1]
    assert faithful.n_ground_truth[0] == 0 and corrected.n_ground_truth[0] == len(truth[ids[0]])
    assert not faithful.has_heldout and "f1_heldout" not in faithful.metric_names


def test_resampled_image_metrics_are_those_of_the_multisets_themselves():
    detections, truth, ids = random_case(2)
    matches = image_level_evaluation(detections, truth, ids, CORRECTED, threshold=0.55)[1]
    counts = np.random.default_rng(0).integers(0, 3, (25, len(ids)))
    resampled = matches.resampled(counts)
    for row, weights in enumerate(counts):
        exact = matches.metrics(weights)
        assert resampled["ap50"][row] == pytest.approx(exact["ap50"], abs=1e-12)
        assert resampled["f1"][row] == pytest.approx(exact["best_f1"], abs=1e-12)
        assert resampled["precision"][row] == pytest.approx(exact["precision_at_best_f1"], abs=1e-12)
        assert resampled["recall"][row] == pytest.approx(exact["recall_at_best_f1"], abs=1e-12)
        assert resampled["f1_heldout"][row] == pytest.approx(exact["heldout"]["f1"], abs=1e-12)


def cell_case(seed: int = 0, n: int = 600):
    rng = np.random.default_rng(seed)
    image_ids = np.array(image_ids_of(8))[rng.integers(0, 24, n)]
    labels = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3))
    logits[labels == 0, 0] += 1.5
    probs = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    return labels, probs, image_ids, np.array([i[:3] for i in image_ids])


@pytest.mark.parametrize("rule", ["oracle", "cross_fitted", "cross_fitted checkpoints"])
def test_crop_records_give_back_the_cell_metrics_and_resample_as_the_multisets(rule):
    labels, probs, image_ids, patients = cell_case()
    halves = None
    if rule == "cross_fitted checkpoints":
        halves = (Predictions(np.roll(probs, 1, axis=0), None), Predictions(probs[::-1].copy(), None))
    threshold = rule.split()[0]
    evaluation = cell_evaluation(labels, Predictions(probs, None), threshold, image_ids, patients, 0, halves)
    records = CropRecords.from_arrays(evaluation.per_image.arrays())
    assert (records.heldout is None) == (threshold == "oracle")
    assert records.metrics() == {k: evaluation.metrics[k] for k in ("f1", "precision", "recall", "auroc")}
    counts = np.random.default_rng(1).integers(0, 3, (20, len(records.images)))
    resampled = records.resampled(counts)
    for row, weights in enumerate(counts):
        exact = records.metrics(weights)
        assert [resampled[k][row] for k in ("f1", "precision", "recall")] == [
            exact[k] for k in ("f1", "precision", "recall")
        ]
        assert resampled["auroc"][row] == pytest.approx(exact["auroc"], abs=1e-12)


# -- The bootstrap. ---------------------------------------------------------------------------------------------------
def test_resamples_stay_within_each_patient_and_repeat_for_a_seed():
    ids = np.array(image_ids_of(5))
    patients = np.array([i[:3] for i in ids])
    counts = resample_counts(ids, patients, Bootstrap(300, seed=4))
    assert counts.shape == (300, 15)
    for patient in PATIENTS:
        assert (counts[:, patients == patient].sum(axis=1) == 5).all()  # each patient keeps its 5 images
    assert counts.max() > 1 and (counts == 0).any()  # with replacement
    assert np.array_equal(counts, resample_counts(ids, patients, Bootstrap(300, seed=4)))
    assert not np.array_equal(counts, resample_counts(ids, patients, Bootstrap(300, seed=5)))
    backwards = resample_counts(ids[::-1], patients[::-1], Bootstrap(300, seed=4))
    assert np.array_equal(backwards[:, ::-1], counts)  # an image's draws do not depend on the order it is given in


def two_patient_matches() -> ImageMatches:
    """r06: one image, its one cell found (score .9). r07: one image whose cell is found (.8), one whose is not.
    On all three AP50 is 2/3; a resample keeps r06's image and draws r07's two from its two: AP50 = (1 + b) / 3
    with b the draws of the found one: 1/3, 2/3, 1 with probabilities 1/4, 1/2, 1/4."""
    return ImageMatches(
        images=np.array(["r06c01f01p01", "r07c01f01p01", "r07c01f02p01"]),
        image_patients=np.array(["r06", "r07", "r07"]),
        n_ground_truth=np.array([1, 1, 1]),
        n_predictions=np.array([1, 1, 0]),
        scores=np.array([0.9, 0.8]),
        true_positive=np.array([True, True]),
        heldout_threshold=math.nan,
    )


def test_a_two_patient_case_worked_out_by_hand():
    matches = two_patient_matches()
    assert matches.metrics()["ap50"] == pytest.approx(2 / 3)
    counts = resample_counts(matches.images, matches.image_patients, Bootstrap(4000, seed=0))
    assert (counts[:, 0] == 1).all() and (counts[:, 1] + counts[:, 2] == 2).all()
    ap = matches.resampled(counts)["ap50"]
    assert ap == pytest.approx((1 + counts[:, 1]) / 3)
    shares = [np.mean(counts[:, 1] == b) for b in (0, 1, 2)]
    assert shares == pytest.approx([0.25, 0.5, 0.25], abs=0.03)
    assert percentile_interval(ap, 0.95) == pytest.approx((1 / 3, 1.0))
    assert percentile_interval(ap, 0.4) == pytest.approx((2 / 3, 2 / 3))  # the middle half is all 2/3


def row(source: str, metric: str = "ap50", value: float = 0.5, subset: str = "all", seed: int = 0, **identity):
    columns = {"stage": "pipeline", "backbone": "", "detector": "faster_rcnn", "setting": "bf", "trainset": "all",
               "trainset_kind": "all", "trainset_value": "", "omega": 0.7, "annotator": "Unioned",
               "protocol": "faithful", **identity}  # fmt: skip
    return Result(**columns, seed=seed, subset=subset, metric=metric, value=value, source=source)


def test_one_patients_cell_resamples_that_patients_images_only():
    intervals = Intervals({"run/per_image.npz": two_patient_matches()}, Bootstrap(2000, seed=1))
    resampled = intervals.resampled([row("run/metrics.json", subset="r07")])
    assert resampled.images == ("r07c01f01p01", "r07c01f02p01")
    assert set(np.round(resampled.means, 12)) == {0.0, 0.5, 1.0}  # found cells 0, 1 or 2 of 2
    assert intervals.interval([row("run/metrics.json", subset="r07")]) == pytest.approx((0.0, 100.0))


def identical_images(n_per_patient: int = 4) -> ImageMatches:
    """Every image alike: TP at .9, FP at .7, TP at .5 over three cells. Any multiset of them has AP50 5/9."""
    ids = np.array(image_ids_of(n_per_patient))
    return ImageMatches(
        images=ids,
        image_patients=np.array([i[:3] for i in ids]),
        n_ground_truth=np.full(len(ids), 3),
        n_predictions=np.full(len(ids), 3),
        scores=np.tile([0.9, 0.7, 0.5], len(ids)),
        true_positive=np.tile([True, False, True], len(ids)),
        heldout_threshold=math.nan,
    )


def test_identical_images_give_a_zero_width_interval():
    intervals = Intervals({"a/per_image.npz": identical_images()}, Bootstrap(500))
    low, high = intervals.interval([row("a/metrics.json", value=5 / 9)])
    assert low == pytest.approx(500 / 9) and high - low < 1e-9  # up to the order of a sum's terms


def test_a_cell_averages_its_seeds_on_the_same_resamples_and_is_repeatable():
    records = {f"s{seed}/per_image.npz": image_level_evaluation(*random_case(seed), FAITHFUL)[1] for seed in (0, 1)}
    rows = [row(f"s{seed}/metrics.json", seed=seed) for seed in (0, 1)]
    intervals = Intervals(records, Bootstrap(400, seed=3))
    means = intervals.resampled(rows).means
    alone = [intervals.resampled([r]).means for r in rows]
    assert means == pytest.approx((alone[0] + alone[1]) / 2)
    again = Intervals(records, Bootstrap(400, seed=3)).interval(rows)
    assert intervals.interval(rows) == again
    assert Intervals(records, Bootstrap(400, seed=4)).interval(rows) != again
    assert intervals.interval([row("no-record/metrics.json")]) is None  # no per-image record: no interval


def test_the_paired_test_of_identical_and_of_clearly_different_arms():
    good = image_level_evaluation(*random_case(5, hit=1.0), FAITHFUL)[1]
    detections, truth, ids = random_case(5, hit=0.3)
    poor = image_level_evaluation(detections, truth, ids, FAITHFUL)[1]
    intervals = Intervals({"good/per_image.npz": good, "poor/per_image.npz": poor}, Bootstrap(1000))
    same = intervals.difference([row("good/metrics.json")], [row("good/metrics.json")], 0.0)
    assert (same.difference, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
    observed = 100 * (good.metrics()["ap50"] - poor.metrics()["ap50"])
    better = intervals.difference([row("good/metrics.json")], [row("poor/metrics.json")], observed)
    assert better.low > 0 and better.p_value < 1e-6


def test_holm_against_a_hand_computed_family():
    # Sorted: .005 x 4 = .02, .01 x 3 = .03, .03 x 2 = .06, .04 x 1 = .04 -> kept non-decreasing: .06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = holm([0.02, math.nan, 0.04, 0.9])  # untested comparisons are not in the family
    assert adjusted[0] == pytest.approx(0.06) and math.isnan(adjusted[1])
    assert adjusted[2:] == pytest.approx([0.08, 0.9])
    assert holm([0.5, 0.7]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_a_bootstrap_that_cannot_run_is_refused():
    with pytest.raises(ConfigError, match="report.bootstrap.level = 95"):
        Bootstrap(level=95)
    with pytest.raises(ConfigError, match="report.bootstrap.resamples = 1"):
        Bootstrap(resamples=1)


# -- The tables. ----------------------------------------------------------------------------------------------------
def write_run(folder: Path, identity: dict, seed: int, hit: float) -> Path:
    """metrics.json and per_image.npz of an image-level evaluation of a random case."""
    detections, truth, ids = random_case(100 * seed + int(100 * hit), hit=hit)
    numbers, matches = image_level_evaluation(detections, truth, ids, FAITHFUL)
    path = folder / "metrics.json"
    write_evaluation(Evaluation({**numbers, "test_annotator": "Unioned", **identity}, matches), path,
                     per_image_path(path))  # fmt: skip
    return path


def table4_runs(root: Path) -> list[Path]:
    """Faster R-CNN, two seeds: BF finds 40 % of the cells, BF + FL 95 %; the detection stage and ω = 0.7."""
    paths = []
    for setting, hit in (("bf", 0.4), ("bf_fluo", 0.95)):
        for seed in (0, 1):
            run = f"faster_rcnn/{setting}/all/seed{seed}"
            paths.append(write_run(root / "detect" / run, {"run": run}, seed, hit))
            paths.append(write_run(root / "pipeline" / run, {"pipeline_run": run, "omega": 0.7}, seed, hit + 0.02))
    return paths


def test_the_table_commands_write_intervals_and_paired_comparisons(tmp_path):
    metrics = table4_runs(tmp_path / "runs")
    records = [per_image_path(p) for p in metrics]
    params = {"omegas": [0.7], "annotator": "Unioned", "external": [], "compared_omega": 0.7}
    common = ["--name", "table4_image_level", "--params", json.dumps(params), "--metrics", *map(str, metrics),
              "--per-image", *map(str, records), "--resamples", "300",
              "--dataset", str(write_twin_pointer(tmp_path))]  # fmt: skip
    out = tmp_path / "tables"
    paper = ["--paper-dir", str(Path(__file__).resolve().parents[2] / "resources" / "paper")]
    assert main(["table", *common, *paper, "--csv", str(out / "t4.csv"), "--md", str(out / "t4.md")]) == 0
    rows = list(csv.DictReader(open(out / "t4.csv")))
    assert list(rows[0]) == list(TABLES["table4_image_level"].columns) and len(rows) == 2 * 2 * 2
    for cell in rows:
        low, mean, high = (float(cell[k]) for k in ("ci_low", "mean", "ci_high"))
        assert low < mean < high, cell
    markdown = (out / "t4.md").read_text()
    assert "resamples of the test images drawn with replacement within each patient" in markdown
    assert "(the patient is the unit that varies between hospitals)" in markdown and "300 resamples" in markdown
    cell = next(r for r in rows if (r["setting"], r["stage"], r["metric"]) == ("bf", "detection", "f1"))
    shown = f"{float(cell['mean']):.1f} ± {float(cell['std_ddof1']):.1f} [{float(cell['ci_low']):.1f}, "
    assert shown + f"{float(cell['ci_high']):.1f}] (" in markdown  # the paper's value after the interval

    assert main(["table-comparisons", *common, "--csv", str(out / "c.csv"), "--md", str(out / "c.md")]) == 0
    compared = list(csv.DictReader(open(out / "c.csv")))
    assert list(compared[0]) == list(COMPARISON_COLUMNS)
    # Per stage BF+FL - BF (2 stages x 2 metrics), and per setting omega 0.7 - detection stage (2 x 2).
    assert len(compared) == 8 and {r["compared"] for r in compared} == {"setting", "stage"}
    for comparison in compared:
        assert float(comparison["p_holm"]) >= float(comparison["p_value"])
        assert float(comparison["ci_low"]) <= float(comparison["ci_high"])
        difference = float(comparison["mean_a"]) - float(comparison["mean_b"])
        assert float(comparison["difference"]) == pytest.approx(difference, abs=1e-5)
    settings = [r for r in compared if r["compared"] == "setting"]
    assert all((r["arm_a"], r["arm_b"]) == ("bf_fluo", "bf") for r in settings)
    assert all(float(r["ci_low"]) > 0 and float(r["p_holm"]) < 0.01 for r in settings)  # 95 % of cells vs 40 %
    text = (out / "c.md").read_text()
    assert "| Faster R-CNN | Detection stage | BF+FL − BF | AP50 |" in text and "p (Holm)" in text
    assert "Holm's method over the 8 comparisons" in text


def test_cell_level_tables_resample_the_val_images(tmp_path):
    paths = []
    for seed in (0, 1):
        labels, probs, image_ids, patients = cell_case(seed)
        evaluation = cell_evaluation(labels, Predictions(probs, None), "oracle", image_ids, patients)
        path = tmp_path / f"seed{seed}" / "metrics.json"
        identity = {"run": {"backbone": "tiny", "setting": "bf", "trainset": "all", "seed": seed},
                    "confusion_percent": np.eye(3).tolist()}  # fmt: skip
        write_evaluation(Evaluation({**evaluation.metrics, **identity}, evaluation.per_image), path,
                         per_image_path(path))  # fmt: skip
        paths.append(path)
    intervals = Intervals.load([per_image_path(p) for p in paths], Bootstrap(200))
    rows, markdown = render(TABLES["table2_cell_level"], {"backbone": "tiny", "label": "Tiny"}, Results.load(paths),
                            [], intervals)  # fmt: skip
    assert len(rows) == 4 and all(r["ci_low"] != "" and float(r["ci_low"]) <= float(r["ci_high"]) for r in rows)
    assert "resamples of the val images (every crop of a drawn image with it)" in markdown


def test_table5_compares_each_strategy_with_the_main_model_and_table6_resamples_each_patient(tmp_path):
    paths = []
    for trainset, hit in (("all", 0.9), ("u-drop", 0.5)):
        for seed in (0, 1):
            run = f"faster_rcnn/bf_hoechst/{trainset}/seed{seed}"
            paths.append(write_run(tmp_path / run, {"pipeline_run": run, "omega": 0.7}, seed, hit))
    results, intervals = Results.load(paths), Intervals.load([per_image_path(p) for p in paths], Bootstrap(300))
    params = {"detector": "faster_rcnn", "setting": "bf_hoechst", "omega": 0.7, "annotator": "Unioned"}
    rows, markdown = render_comparisons(TABLES["table5_unknown_cells"], {**params, "strategies": ["u-drop"]}, results,
                                        intervals)  # fmt: skip
    assert [(r["arm_a"], r["arm_b"], r["metric"]) for r in rows] == [("u-drop", "all", "f1"), ("u-drop", "all", "ap50")]
    assert all(float(r["ci_high"]) < 0 for r in rows)  # half the cells found against nine in ten
    assert "| Not including unknown cells | `u-drop` − `all` | F1 |" in markdown

    rows, markdown = render(TABLES["table6_patients"], {**params, "patients": list(PATIENTS)}, results, [], intervals)
    main_rows = [r for r in rows if r["trainset"] == "all"]
    assert [r["tested_on"] for r in main_rows] == list(PATIENTS) and all(r["ci_low"] != "" for r in main_rows)
    r07 = intervals.interval(results.select(stage="pipeline", trainset="all", subset="r07", metric="f1"))
    assert (float(main_rows[1]["ci_low"]), float(main_rows[1]["ci_high"])) == pytest.approx(r07, abs=1e-6)
    assert intervals.resampled(results.select(trainset="all", subset="r07", metric="f1")).images == tuple(
        i for i in image_ids_of(10) if i.startswith("r07")
    )  # a patient's cell resamples that patient's images
    assert all(r["ci_low"] == "" for r in rows if r["trainset"] == "patient-r06")  # no runs: no interval
