"""The defect-effects table: each switch flipped alone from an endpoint, variant − endpoint of five numbers with the
paired bootstrap, from hand-made evaluations written as the pipeline and the classifier write theirs; and its spec,
built from the plan."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from pointer_helpers import write_twin_pointer
from report_helpers import random_detections

from ctcbench.classify.evaluate import cell_evaluation
from ctcbench.classify.predict import Predictions
from ctcbench.cli import main
from ctcbench.config import resolve
from ctcbench.detect.evaluate import image_level_evaluation
from ctcbench.detect.image_matches import ImageMatches
from ctcbench.errors import ConfigError, DatasetError
from ctcbench.per_image import Evaluation, per_image_path, write_evaluation
from ctcbench.plan.defects import DEFECTS_DIR, Variant, effect_switches, reads
from ctcbench.protocol import CLASSIFIER, CORRECTED, FAITHFUL, IMAGE, Protocol
from ctcbench.report.bootstrap import Bootstrap
from ctcbench.report.defect_effects import (
    COLUMNS,
    SHARED,
    Difference,
    Effect,
    defect_spec,
    read_spec,
    render,
    sort_key,
    spec_inputs,
    spec_rows,
)
from ctcbench.report.summary import TABLES as REPORT_TABLES

ROOT = Path(__file__).resolve().parents[2]
PATIENTS = ("r06", "r07", "r08")
BOOTSTRAP = Bootstrap(300, seed=0)


def variant_of(switch: str, endpoint: Protocol = FAITHFUL) -> Protocol:
    """The endpoint with only `switch` set to the other endpoint's value."""
    other = CORRECTED if endpoint.base == "faithful" else FAITHFUL
    return endpoint.replace(**{switch: getattr(other, switch)})


# -- Hand-made evaluations, written as pipeline-evaluate and classify-eval write theirs. -----------------------------
def write_image_run(path: Path, numbers: dict, matches: ImageMatches, protocol: Protocol, seed: int = 0) -> str:
    """A pipeline evaluation's metrics.json (Faster R-CNN, Brightfield, ω 0.7) and its per-image record."""
    run = f"faster_rcnn/bf/all/seed{seed}"
    metrics = {**numbers, "protocol": protocol.name, "test_annotator": "Unioned", "pipeline_run": run,
               "omega": 0.7, "classifier": {"backbone": "tiny"}}  # fmt: skip
    write_evaluation(Evaluation(metrics, matches), path, per_image_path(path))
    return str(path)


def heldout_threshold(protocol: Protocol) -> float | None:
    """The score threshold "chosen on val" of a protocol that reports the F1 there (image_threshold: heldout)."""
    return HELDOUT_THRESHOLD if protocol.threshold_on_val else None


HELDOUT_THRESHOLD = 0.6  # keeps the boxes scored .9 and .7 of a patterned run


def evaluated_run(path: Path, detections: dict, truth: dict, ids: list, protocol: Protocol, seed: int = 0) -> str:
    """The detections scored by the real image-level evaluation under `protocol`."""
    numbers, matches = image_level_evaluation(detections, truth, ids, protocol, heldout_threshold(protocol))
    return write_image_run(path, numbers, matches, protocol, seed)


def patterned_run(path: Path, pattern: str, protocol: Protocol, seed: int = 0) -> str:
    """Four images per patient, each alike: three cells and three boxes scored .9, .7, .5, each a hit (T) or not (F)
    as `pattern` says. Any multiset of such images has the AP50 and best F1 of one: TFT 5/9 and 2/3, TTF 2/3 and
    4/5, TFF 1/3 and 1/2, TTT 1 and 1; under image_threshold: heldout, the F1 of the two boxes kept: TFT 2/5."""
    ids = np.array([f"{p}c01f{i:02d}p01" for p in PATIENTS for i in range(4)])
    matches = ImageMatches(
        images=ids,
        image_patients=np.array([i[:3] for i in ids]),
        n_ground_truth=np.full(len(ids), 3),
        n_predictions=np.full(len(ids), 3),
        scores=np.tile([0.9, 0.7, 0.5], len(ids)),
        true_positive=np.tile([c == "T" for c in pattern], len(ids)),
        heldout_threshold=heldout_threshold(protocol) or math.nan,
    )
    return write_image_run(path, matches.metrics(), matches, protocol, seed)


def random_case(seed: int, hit: float, every_image_detected: bool = True):
    """(detections, truth, ids): ten images per patient, at least one cell each; with `every_image_detected`, each
    image has at least one box (report_helpers.random_detections)."""
    return random_detections(seed, hit, least_cells=1, least_background=1 if every_image_detected else 0)


def cell_run(path: Path, protocol: Protocol, separation: float, seed: int = 0) -> str:
    """A classifier's cell-level metrics.json (tiny, Brightfield) and its crop records: 600 val crops of 24 images,
    cancer crops' logit of R raised by `separation`."""
    rng = np.random.default_rng(7)
    image_ids = np.array([f"{p}c02f{i:02d}p01" for p in PATIENTS for i in range(8)])[rng.integers(0, 24, 600)]
    labels = rng.integers(0, 3, 600)
    logits = rng.normal(size=(600, 3))
    logits[labels == 0, 0] += separation
    probs = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    patients = np.array([i[:3] for i in image_ids])
    evaluation = cell_evaluation(labels, Predictions(probs, None), "oracle", image_ids, patients)
    identity = {"run": {"backbone": "tiny", "setting": "bf", "trainset": "all", "seed": seed},
                "protocol": protocol.name, "confusion_percent": np.eye(3).tolist()}  # fmt: skip
    write_evaluation(Evaluation({**evaluation.metrics, **identity}, evaluation.per_image), path, per_image_path(path))
    return str(path)


def spec_row(switch: str, endpoint: Protocol, image: tuple[str, str], cell: tuple[str, str], seed: int = 0) -> dict:
    return {"switch": switch, "endpoint": endpoint.name, "variant": variant_of(switch, endpoint).name,
            "setting": "bf", "seed": seed, "endpoint_image": image[0], "variant_image": image[1],
            "endpoint_cell": cell[0], "variant_cell": cell[1]}  # fmt: skip


def write_spec(folder: Path, rows: list[dict]) -> Path:
    path = folder / "spec.json"
    path.write_text(json.dumps({"configured": "faithful", "annotator": "Unioned", "rows": rows}))
    return path


def table_of(folder: Path, rows: list[dict], bootstrap: Bootstrap = BOOTSTRAP) -> tuple[list[dict], str]:
    return render(read_spec(write_spec(folder, rows)), bootstrap)


@pytest.fixture
def main_classifier(tmp_path) -> str:
    """The endpoint's classifier run, which every image-level or detector switch reuses."""
    return cell_run(tmp_path / "classify" / "metrics.json", FAITHFUL, separation=1.5)


# -- The numbers. ----------------------------------------------------------------------------------------------------
def test_a_variant_that_shares_its_endpoints_classifier_has_a_zero_cell_level_difference(tmp_path, main_classifier):
    endpoint = patterned_run(tmp_path / "faithful" / "metrics.json", "TFT", FAITHFUL)
    variant = patterned_run(tmp_path / "gate" / "metrics.json", "TFT", variant_of("fusion_gate"))
    row = spec_row("fusion_gate", FAITHFUL, (endpoint, variant), (main_classifier,) * 2)
    (row,), markdown = table_of(tmp_path, [row])
    for metric in ("cell_f1", "cell_auroc"):
        assert row[f"{metric}_endpoint"] == row[f"{metric}_variant"] != ""
        numbers = [float(row[f"{metric}_{c}"]) for c in ("delta", "ci_low", "ci_high", "p", "p_holm")]
        assert numbers == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert f"| {SHARED} | {SHARED} |" in markdown and "exactly zero by construction" in markdown


def test_a_switch_that_is_a_no_op_on_the_data_gives_an_exact_zero(tmp_path, main_classifier):
    # Every test image has a box: dropping the ground truth of images without one drops nothing.
    case = random_case(3, hit=0.6)
    flipped = variant_of("drop_undetected_ground_truth")
    assert FAITHFUL.drop_undetected_ground_truth and not flipped.drop_undetected_ground_truth
    endpoint = evaluated_run(tmp_path / "faithful" / "metrics.json", *case, FAITHFUL)
    variant = evaluated_run(tmp_path / "variant" / "metrics.json", *case, flipped)
    rows, markdown = table_of(tmp_path, [spec_row("drop_undetected_ground_truth", FAITHFUL, (endpoint, variant),
                                                  (main_classifier,) * 2)])  # fmt: skip
    (row,) = rows
    for metric in ("ap50", "f1"):
        assert float(row[f"{metric}_endpoint"]) > 0
        numbers = [float(row[f"{metric}_{c}"]) for c in ("delta", "ci_low", "ci_high", "p")]
        assert numbers == [0.0, 0.0, 0.0, 1.0]
    assert "| +0.0 [+0.0, +0.0] | +0.0 [+0.0, +0.0] |" in markdown  # a test (other runs), not zero by construction

    # The same switch moves the numbers where an image has no box: the no-op is the data's, not the code's.
    sparse = random_case(3, hit=0.6, every_image_detected=False)
    sparse[0][sparse[2][0]] = (np.zeros((0, 4)), np.zeros(0))
    endpoint = evaluated_run(tmp_path / "sparse-faithful" / "metrics.json", *sparse, FAITHFUL)
    variant = evaluated_run(tmp_path / "sparse-variant" / "metrics.json", *sparse, flipped)
    (row,) = table_of(tmp_path, [spec_row("drop_undetected_ground_truth", FAITHFUL, (endpoint, variant),
                                          (main_classifier,) * 2)])[0]  # fmt: skip
    assert float(row["ap50_delta"]) < 0  # the undetected cells now count as missed


def test_a_clearly_better_variant_has_the_hand_computed_delta(tmp_path, main_classifier):
    endpoint = patterned_run(tmp_path / "faithful" / "metrics.json", "TFT", FAITHFUL)
    variant = patterned_run(tmp_path / "iou" / "metrics.json", "TTF", variant_of("iou_plus_one"))
    (row,) = table_of(tmp_path, [spec_row("iou_plus_one", FAITHFUL, (endpoint, variant), (main_classifier,) * 2)])[0]
    assert float(row["ap50_endpoint"]) == pytest.approx(500 / 9, abs=1e-6)
    assert float(row["ap50_variant"]) == pytest.approx(200 / 3, abs=1e-6)
    assert float(row["ap50_delta"]) == pytest.approx(100 / 9, abs=1e-6)  # 2/3 − 5/9
    assert float(row["f1_delta"]) == pytest.approx(40 / 3, abs=1e-6)  # 4/5 − 2/3
    # Any multiset of alike images scores alike: the interval is the point, and the difference is certain.
    assert float(row["ap50_ci_low"]) == pytest.approx(100 / 9, abs=1e-6) and float(row["ap50_p"]) == 0


def test_the_paired_interval_of_a_real_improvement_excludes_zero_and_has_its_sign(tmp_path, main_classifier):
    poor = evaluated_run(tmp_path / "corrected" / "metrics.json", *random_case(5, hit=0.3), CORRECTED)
    put_back = variant_of("fusion_gate", CORRECTED)
    good = evaluated_run(tmp_path / "variant" / "metrics.json", *random_case(5, hit=1.0), put_back)
    classifier = cell_run(tmp_path / "corrected-classify" / "metrics.json", CORRECTED, 1.5)
    ((row,), markdown) = table_of(tmp_path, [spec_row("fusion_gate", CORRECTED, (poor, good), (classifier,) * 2)])
    assert row["direction"] == "defect put back into corrected" and row["reads"] == IMAGE
    low, delta, high = (float(row[f"ap50_{c}"]) for c in ("ci_low", "delta", "ci_high"))
    assert 0 < low < delta < high and float(row["ap50_p"]) < 1e-6
    assert delta == pytest.approx(float(row["ap50_variant"]) - float(row["ap50_endpoint"]), abs=1e-5)
    assert "defect put back into corrected | Brightfield | +" in markdown


def test_seeds_pool_and_a_classifier_switch_moves_the_cell_level(tmp_path):
    rows = []
    for seed in (0, 1):
        image = (patterned_run(tmp_path / f"e{seed}" / "metrics.json", "TFT", FAITHFUL, seed),
                 patterned_run(tmp_path / f"v{seed}" / "metrics.json", "TTT" if seed else "TTF",
                               variant_of("classifier_normalisation"), seed))  # fmt: skip
        cell = (
            cell_run(tmp_path / f"ce{seed}" / "metrics.json", FAITHFUL, 0.5, seed),
            cell_run(tmp_path / f"cv{seed}" / "metrics.json", variant_of("classifier_normalisation"), 3.0, seed),
        )
        rows.append(spec_row("classifier_normalisation", FAITHFUL, image, cell, seed))
    (row,) = table_of(tmp_path, rows)[0]
    assert row["seeds"] == "0 1" and row["reads"] == CLASSIFIER and row["defect"] != ""
    # Seed 0: 2/3 − 5/9; seed 1: 1 − 5/9; the mean over seeds.
    assert float(row["ap50_delta"]) == pytest.approx(100 * ((2 / 3 + 1) / 2 - 5 / 9), abs=1e-6)
    assert float(row["cell_auroc_delta"]) > 0 and float(row["cell_auroc_ci_low"]) > 0


def test_rows_go_by_the_size_of_the_effect_and_holm_counts_only_the_tests(tmp_path, main_classifier):
    endpoint = patterned_run(tmp_path / "faithful" / "metrics.json", "TFT", FAITHFUL)
    patterns = {"iou_plus_one": "TTF", "fusion_gate": "TFF", "image_threshold": "TFT",
                "nms_before_classification": "TTT"}  # fmt: skip
    rows = [spec_row(switch, FAITHFUL, (endpoint, patterned_run(tmp_path / switch / "metrics.json", pattern,
                                                                variant_of(switch))), (main_classifier,) * 2)
            for switch, pattern in patterns.items()]  # fmt: skip
    table, markdown = table_of(tmp_path, rows)
    # ΔAP50: +44.4, −22.2, +11.1, 0.
    assert [row["switch"] for row in table] == ["nms_before_classification", "fusion_gate", "iou_plus_one",
                                                "image_threshold"]  # fmt: skip
    assert list(table[0]) == list(COLUMNS)
    # 4 rows x AP50 and best F1, and image_threshold's reported F1: from faithful, the other rows' reported F1 is
    # their best F1 again, and the shared cell level is no test.
    assert "Holm's method over the 9 differences" in markdown
    assert markdown.count("| = ΔF1 |") == 3
    repeated = [row for row in table if row["switch"] != "image_threshold"]
    assert all(row["reported_f1_delta"] == row["f1_delta"] and row["reported_f1_p_holm"] == row["reported_f1_p"]
               for row in repeated)  # fmt: skip
    assert [line.split(" | ")[0] for line in markdown.splitlines() if line.startswith("| `")] == [
        "| `nms_before_classification`", "| `fusion_gate`", "| `iou_plus_one`", "| `image_threshold`"]  # fmt: skip


def test_reported_f1_shows_the_oracle_thresholds_effect_that_best_f1_cannot(tmp_path, main_classifier):
    # The same detections: image_threshold changes what is reported, not what is scored.
    endpoint = patterned_run(tmp_path / "faithful" / "metrics.json", "TFT", FAITHFUL)
    variant = patterned_run(tmp_path / "heldout" / "metrics.json", "TFT", variant_of("image_threshold"))
    (row,) = table_of(tmp_path, [spec_row("image_threshold", FAITHFUL, (endpoint, variant), (main_classifier,) * 2)])[0]
    assert float(row["f1_delta"]) == 0 and float(row["ap50_delta"]) == 0
    # Reported: best F1 2/3 (oracle) against the F1 at the val threshold, P 1/2 and R 1/3: 2/5.
    assert float(row["reported_f1_endpoint"]) == pytest.approx(200 / 3, abs=1e-6)
    assert float(row["reported_f1_variant"]) == pytest.approx(40, abs=1e-6)
    assert float(row["reported_f1_delta"]) == pytest.approx(40 - 200 / 3, abs=1e-6)
    # From corrected, both arms of any other switch report the val-threshold F1.
    corrected = patterned_run(tmp_path / "corrected" / "metrics.json", "TFT", CORRECTED)
    gate = patterned_run(tmp_path / "gate" / "metrics.json", "TTF", variant_of("fusion_gate", CORRECTED))
    classifier = cell_run(tmp_path / "corrected-classify" / "metrics.json", CORRECTED, 1.5)
    (row,) = table_of(tmp_path, [spec_row("fusion_gate", CORRECTED, (corrected, gate), (classifier,) * 2)])[0]
    assert float(row["reported_f1_endpoint"]) == pytest.approx(40, abs=1e-6)  # TFT at .6: 2/5
    assert float(row["reported_f1_variant"]) == pytest.approx(80, abs=1e-6)  # TTF at .6: P 1, R 2/3


def test_an_arm_that_reports_the_heldout_f1_without_one_is_refused(tmp_path, main_classifier):
    case = random_case(2, hit=0.6)
    endpoint = evaluated_run(tmp_path / "faithful" / "metrics.json", *case, FAITHFUL)
    # Evaluated without val scores, though its protocol reports the val-threshold F1.
    numbers, matches = image_level_evaluation(*case, variant_of("image_threshold"))
    path = write_image_run(tmp_path / "heldout" / "metrics.json", numbers, matches, variant_of("image_threshold"))
    with pytest.raises(DatasetError, match=r"heldout/metrics.json: no f1_heldout.*--val-scores"):
        table_of(tmp_path, [spec_row("image_threshold", FAITHFUL, (endpoint, path), (main_classifier,) * 2)])


def test_ties_in_ap50_go_by_the_cell_level_then_by_switch_name():
    def effect(switch: str) -> Effect:
        return Effect(switch, FAITHFUL, variant_of(switch), "bf", (0,), {})

    def numbers(ap50: float, cell_f1: float) -> dict:
        same = Difference(50, 50, 0.0, 0.0, 0.0, 1.0, True)
        return {"ap50": Difference(50, 50 + ap50, ap50, ap50, ap50, 0.0, False), "f1": same,
                "cell_f1": Difference(50, 50 + cell_f1, cell_f1, 0, 0, 0, False), "cell_auroc": same}  # fmt: skip

    items = [(effect("fusion_gate"), numbers(-3.0, 1.0)), (effect("box_shift"), numbers(3.0, -2.0)),
             (effect("iou_plus_one"), numbers(3.0, 1.0)), (effect("classifier_normalisation"), numbers(math.nan, 9.0)),
             (effect("image_threshold"), numbers(-3.0, 1.0))]  # fmt: skip
    ordered = [e.switch for e, _ in sorted(items, key=lambda item: sort_key(*item))]
    assert ordered == ["box_shift", "fusion_gate", "image_threshold", "iou_plus_one", "classifier_normalisation"]


# -- The spec and the command. ---------------------------------------------------------------------------------------
def test_a_spec_that_does_not_pair_a_variant_with_its_endpoint_is_refused(tmp_path, main_classifier):
    endpoint = patterned_run(tmp_path / "faithful" / "metrics.json", "TFT", FAITHFUL)
    wrong = spec_row("fusion_gate", FAITHFUL, (endpoint, endpoint), (main_classifier,) * 2)
    wrong["variant"] = CORRECTED.name
    with pytest.raises(ConfigError, match="only fusion_gate changed"):
        read_spec(write_spec(tmp_path, [wrong]))
    with pytest.raises(ConfigError, match="row 0 lacks variant_cell"):
        read_spec(write_spec(tmp_path, [{k: v for k, v in wrong.items() if k != "variant_cell"}]))
    # The image level is always the variant's own: the endpoint's evaluation in its place is a mistake.
    same = spec_row("fusion_gate", FAITHFUL, (endpoint, endpoint), (main_classifier,) * 2)
    with pytest.raises(DatasetError, match="does not serve the variant faithful,fusion_gate=null"):
        table_of(tmp_path, [same])
    seed1 = patterned_run(tmp_path / "seed1" / "metrics.json", "TFT", variant_of("fusion_gate"), seed=1)
    with pytest.raises(DatasetError, match="a run of bf seed 1, listed as bf seed 0"):
        table_of(tmp_path, [spec_row("fusion_gate", FAITHFUL, (endpoint, seed1), (main_classifier,) * 2)])


def test_the_command_writes_the_csv_markdown_and_html(tmp_path, main_classifier):
    endpoint = patterned_run(tmp_path / "faithful" / "metrics.json", "TFT", FAITHFUL)
    variant = patterned_run(tmp_path / "gate" / "metrics.json", "TTF", variant_of("fusion_gate"))
    spec = write_spec(tmp_path, [spec_row("fusion_gate", FAITHFUL, (endpoint, variant), (main_classifier,) * 2)])
    out = tmp_path / "tables"
    argv = ["defect-effects", "--spec", str(spec), "--resamples", "50", "--bootstrap-seed", "1", "--level", "0.9",
            "--dataset", str(write_twin_pointer(tmp_path)), "--out-csv", str(out / "defect_effects.csv"),
            "--out-md", str(out / "defect_effects.md")]  # fmt: skip
    assert main(argv) == 0
    (row,) = list(csv.DictReader(open(out / "defect_effects.csv")))
    assert list(row) == list(COLUMNS) and row["direction"] == "correction applied to faithful"
    text = (out / "defect_effects.md").read_text()
    assert text.startswith("_Data: ") and "90 % paired bootstrap interval, from 50 resamples" in text
    assert "val images for the cell level" in text and "within each patient" in text
    assert "| `fusion_gate` |" in text and (out / "defect_effects.html").is_file()
    assert REPORT_TABLES["defect_effects"] in (out / "defect_effects.html").read_text()  # report.md lists it too


def demo_config() -> dict:
    raw = yaml.safe_load(open(ROOT / "config.yaml"))
    return resolve(raw, str(ROOT / "config.yaml"), overrides={"preset": "demo"})


def test_spec_rows_pair_every_variant_with_its_endpoint_in_the_demo():
    config = demo_config()
    results = "results/demo"
    rows = spec_rows(config, results)
    switches = effect_switches(config)
    assert len(switches) == 7 and config["report"]["defect_effects"]["settings"] == ["bf"]
    assert len(rows) == len(switches) * 2  # two directions, Brightfield, the first seed
    assert {(row["switch"], row["setting"], row["seed"]) for row in rows} == {(s, "bf", 0) for s in switches}
    defects = f"{results}/{DEFECTS_DIR}"
    for row in rows:
        variant = Variant(row["endpoint"].split(",")[0], row["switch"])
        assert row["variant_image"].startswith(f"{defects}/{variant.name}/pipeline/")
        assert row["variant_image"].endswith("/omega0.7/metrics.json")
        reruns_classifier = CLASSIFIER in reads(row["switch"])
        assert row["variant_cell"].startswith(f"{defects}/{variant.name}/classify/") == reruns_classifier
        assert (row["variant_cell"] == row["endpoint_cell"]) == (not reruns_classifier)
    by_variant = {f"{row['endpoint'].split(',')[0]}-{row['switch']}": row for row in rows}
    gate = by_variant["faithful-fusion_gate"]
    assert gate["endpoint"] == "faithful" and gate["variant"] == "faithful,fusion_gate=null"
    assert gate["endpoint_image"] == f"{results}/pipeline/faster_rcnn/bf/all/seed0/omega0.7/metrics.json"
    assert gate["variant_cell"] == f"{results}/classify/resnet_tiny/bf/all/seed0/metrics.json"  # the main tree's
    put_back = by_variant["corrected-fusion_gate"]
    assert put_back["endpoint_image"].startswith(f"{defects}/corrected/pipeline/")
    assert put_back["variant_cell"] == f"{defects}/corrected/classify/resnet_tiny/bf/all/seed0/metrics.json"
    spec = defect_spec(config, results)
    assert spec["configured"] == "faithful" and spec["annotator"] == "Unioned" and spec["rows"] == rows
    inputs = spec_inputs(rows)
    assert f"{results}/pipeline/faster_rcnn/bf/all/seed0/omega0.7/per_image.npz" in inputs
    assert len(inputs) == len(set(inputs))


def test_no_spec_rows_when_the_block_is_off():
    config = demo_config()
    config["report"]["defect_effects"]["enabled"] = False
    assert spec_rows(config, "results/demo") == []
