"""The result tables as views of the long results table, from hand-made metrics records: the right records in
each cell, means and both stds, the paper's values beside ours, the CSV and Markdown the `table` command writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from pointer_helpers import staged_dataset_root, write_twin_pointer

from ctcbench.cli import main
from ctcbench.errors import DatasetError
from ctcbench.report.results import COLUMNS, Results, read_results
from ctcbench.report.table_specs import TABLES
from ctcbench.report.views import render
from ctcbench.tables import read_paper_rows

PAPER = Path(__file__).resolve().parents[2] / "resources" / "paper"
PATIENTS = ["r06", "r07", "r08"]
F1 = {"bf": [0.60, 0.61, 0.62], "bf_hoechst": [0.66, 0.65, 0.67], "bf_fluo": [0.945, 0.944, 0.946]}


def write_cell(folder: Path, backbone: str, setting: str, seed: int, f1: float, trainset: str = "all") -> Path:
    path = folder / backbone / setting / trainset / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True)
    record = {
        "run": {"backbone": backbone, "setting": setting, "trainset": trainset, "seed": seed},
        "protocol": "faithful",
        "f1": f1,
        "precision": f1 - 0.1,
        "recall": f1 + 0.1,
        "threshold": 0.4,
        "auroc": f1 + 0.2,
        "accuracy": 0.5,
        "oracle": {"f1": f1},
        "confusion_percent": np.eye(3).tolist(),
    }
    path.write_text(json.dumps(record))
    return path


def write_image(path: Path, run: str, f1: float, ap50: float, omega=None, per_patient=None, **extra) -> Path:
    data = {"best_f1": f1, "ap50": ap50, "per_patient": per_patient or {}, "test_annotator": "Unioned", **extra}
    if omega is None:
        data["run"] = run
    else:
        data.update({"pipeline_run": run, "omega": omega, "run": "the detector run, not used"})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def table(name: str, params: dict, paths: list[Path]):
    spec = TABLES[name]
    return render(spec, params, Results.load(paths), read_paper_rows(PAPER / spec.paper_file))


def test_cell_tables_and_the_command(tmp_path):
    paths = []
    for backbone in ("convnext_b", "resnet50"):
        for setting, values in F1.items():
            for seed, value in enumerate(values):
                paths.append(write_cell(tmp_path / "runs", backbone, setting, seed, value))
    paths.append(write_cell(tmp_path / "runs", "convnext_b", "bf", 0, 0.1, trainset="frac-0.1"))  # not in tables
    out, pointer = tmp_path / "tables", write_twin_pointer(tmp_path)
    params = {"backbone": "convnext_b", "label": "ConvNext-B"}
    args = ["table", "--name", "table2_cell_level", "--params", json.dumps(params), "--metrics", *map(str, paths),
            "--paper-dir", str(PAPER), "--dataset", str(pointer), "--csv", str(out / "t2.csv"),
            "--md", str(out / "t2.md")]  # fmt: skip
    assert main(args) == 0
    rows = list(csv.DictReader(open(out / "t2.csv")))
    assert len(rows) == 12 and list(rows[0]) == list(TABLES["table2_cell_level"].columns)
    bf_f1 = next(r for r in rows if r["setting"] == "bf" and r["metric"] == "f1")
    values = np.array(F1["bf"]) * 100
    assert float(bf_f1["mean"]) == pytest.approx(values.mean())
    assert float(bf_f1["std_ddof0"]) == pytest.approx(values.std(ddof=0))
    assert float(bf_f1["std_ddof1"]) == pytest.approx(values.std(ddof=1)) == pytest.approx(1.0)
    assert (float(bf_f1["paper_mean"]), float(bf_f1["paper_std"])) == (60.5, 0.4)
    assert float(bf_f1["delta"]) == pytest.approx(values.mean() - 60.5) and bf_f1["n_runs"] == "3"
    assert "| Brightfield | 3 | 61.0 ± 1.0 (60.5 ± 0.4) |" in (out / "t2.md").read_text()
    assert (out / "t2.html").read_text().count("<tr>") == 4  # the HTML page beside it

    rows3, table3 = table(
        "table3_backbones", {"backbones": [["convnext_b", "ConvNext-B"], ["resnet50", "ResNet-50"]]}, paths
    )
    assert len(rows3) == 2 * 3 * 2
    resnet = next(r for r in rows3 if (r["backbone"], r["setting"], r["metric"]) == ("resnet50", "bf_fluo", "auroc"))
    assert resnet["paper_label"] == "ResNet-50" and resnet["paper_mean"] == 99.3
    assert float(resnet["mean"]) == pytest.approx(114.5)
    assert table3.count("\n| ResNet-50 | 3 |") == 1 and "BF+FL AUROC" in table3


def test_results_of_the_release_show_ours_minus_the_paper(tmp_path):
    """The twin's tables leave the difference to the CSV (its numbers are not comparable with the paper's); a
    release's tables print it beside every published value."""
    from ctcbench.data.pointer import write_pointer

    paths = [write_cell(tmp_path / "runs", "convnext_b", "bf", seed, value) for seed, value in enumerate(F1["bf"])]
    pointer = write_pointer(tmp_path / "dataset.json", staged_dataset_root(tmp_path / "release"), "local")
    md = tmp_path / "t2.md"
    args = ["table", "--name", "table2_cell_level", "--params", json.dumps({"backbone": "convnext_b", "label": "B"}),
            "--metrics", *map(str, paths), "--paper-dir", str(PAPER), "--dataset", str(tmp_path / "dataset.json"),
            "--csv", str(tmp_path / "t2.csv"), "--md", str(md)]  # fmt: skip
    assert pointer.source == "local" and main(args) == 0
    text = md.read_text()
    assert "| Brightfield | 3 | 61.0 ± 1.0 (60.5 ± 0.4; Δ +0.5) |" in text and "Δ: ours − paper" in text
    # Every published value gets its difference: precision 51.0 beside the paper's 50.5.
    assert "51.0 ± 1.0 (50.5 ± 0.6; Δ +0.5)" in text


def test_a_single_seed_has_no_sample_std(tmp_path):
    rows, markdown = table(
        "table2_cell_level", {"backbone": "tiny", "label": "Tiny"}, [write_cell(tmp_path, "tiny", "bf", 0, 0.5)]
    )
    assert "| Brightfield | 1 | 50.0 ± – (60.5 ± 0.4) |" in markdown
    assert rows[0]["std_ddof0"] == "0.000000" and rows[0]["std_ddof1"] == ""


def test_table4_cells_average_their_own_seeds(tmp_path):
    values = {}  # (detector, setting, stage) -> f1 per seed
    paths = []
    rng = np.random.default_rng(0)
    for detector in ("faster_rcnn", "dino"):
        for setting in ("bf", "bf_fluo"):
            for stage, omega in (("detection", None), ("omega1", 1.0), ("omega0.7", 0.7)):
                f1s = rng.uniform(0.3, 0.9, 3)
                values[(detector, setting, stage)] = f1s
                for seed, f1 in enumerate(f1s):
                    path = tmp_path / detector / setting / stage / f"{seed}.json"
                    paths.append(write_image(path, f"{detector}/{setting}/all/seed{seed}", f1, f1 / 2, omega))
    rows, markdown = table("table4_image_level", {"omegas": [1.0, 0.7], "annotator": "Unioned"}, paths)
    assert len(rows) == 2 * 3 * 2 * 2  # detectors x stages x settings x metrics
    for row in rows:
        f1s = values[(row["detector"], row["setting"], row["stage"])] * 100
        expected = f1s if row["metric"] == "f1" else f1s / 2
        assert row["n_runs"] == 3
        assert float(row["mean"]) == pytest.approx(expected.mean())
        assert float(row["std_ddof1"]) == pytest.approx(expected.std(ddof=1))
        assert float(row["std_ddof0"]) == pytest.approx(expected.std(ddof=0))
    # The paper's Faster R-CNN BF+FL full pipeline at omega 0.7: AP50 89.2, F1 87.8 (docs/experiments.md).
    cell = next(
        r for r in rows
        if (r["detector"], r["setting"], r["stage"], r["metric"]) == ("faster_rcnn", "bf_fluo", "omega0.7", "f1")
    )  # fmt: skip
    assert (cell["paper_mean"], float(cell["delta"])) == (87.8, pytest.approx(float(cell["mean"]) - 87.8))
    assert "| Faster R-CNN | Full pipeline (ω = 0.7) |" in markdown and "| DINO | Detection stage |" in markdown
    # Scored against another annotator, the same runs are not Table 4's.
    other = table("table4_image_level", {"omegas": [1.0, 0.7], "annotator": "Expert1"}, paths)[0]
    assert other == []


def test_table5_rows_follow_the_paper_strategies(tmp_path):
    f1 = {"u-drop": 0.50, "u-pseudo-all": 0.52, "u-pseudo-0.8": 0.54, "all": 0.58}
    paths = [
        write_image(tmp_path / f"{name}.json", f"faster_rcnn/bf_hoechst/{name}/seed0", value, 0.4, 0.7)
        for name, value in f1.items()
    ]
    paths.append(write_image(tmp_path / "other.json", "faster_rcnn/bf_hoechst/all/seed0", 0.9, 0.9, 1.0))
    params = {"detector": "faster_rcnn", "setting": "bf_hoechst", "omega": 0.7, "annotator": "Unioned",
              "strategies": ["u-drop", "u-pseudo-all", "u-pseudo-0.8"]}  # fmt: skip
    rows, markdown = table("table5_unknown_cells", params, paths)
    f1_rows = [r for r in rows if r["metric"] == "f1"]
    assert [r["trainset"] for r in f1_rows] == ["u-drop", "u-pseudo-all", "u-pseudo-0.8", "all"]
    assert [float(r["mean"]) for r in f1_rows] == pytest.approx([50, 52, 54, 58])  # omega 1 record not mixed in
    assert [r["paper_mean"] for r in f1_rows] == [56.3, 55.2, 55.2, 59.3]
    assert "Assign all unknown cells as normal" in markdown


def test_table6_reads_the_per_patient_f1(tmp_path):
    paths = []
    for t, trainset in enumerate(["all", "patient-r06", "patient-r07", "patient-r08"]):
        per_patient = {p: {"best_f1": 0.1 * t + 0.01 * i, "ap50": 0.0} for i, p in enumerate(PATIENTS)}
        for seed in (0, 1):
            path = tmp_path / trainset / f"{seed}.json"
            paths.append(write_image(path, f"faster_rcnn/bf_hoechst/{trainset}/seed{seed}", 0.5, 0.5, 0.7, per_patient))
    params = {"detector": "faster_rcnn", "setting": "bf_hoechst", "omega": 0.7, "annotator": "Unioned",
              "patients": PATIENTS}  # fmt: skip
    rows, markdown = table("table6_patients", params, paths)
    assert len(rows) == 12
    cell = next(r for r in rows if r["trainset"] == "patient-r08" and r["tested_on"] == "r07")
    assert float(cell["mean"]) == pytest.approx(31.0) and float(cell["std_ddof1"]) == pytest.approx(0.0)
    assert cell["paper_mean"] == 39.7  # trained on the 3rd patient, tested on the 2nd
    assert "| 3rd patient (r08) |" in markdown


def test_missing_unnamed_or_repeated_records_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="metrics missing"):
        Results.load([tmp_path / "absent.json"])
    bad = write_image(tmp_path / "bad.json", "faster_rcnn/bf/all", 0.5, 0.5)
    with pytest.raises(Exception, match="seed<N>"):
        Results.load([bad])
    good = write_image(tmp_path / "good.json", "faster_rcnn/bf/all/seed0", 0.5, 0.5)
    with pytest.raises(DatasetError, match="given twice"):
        Results.load([good, good])
    cell = write_cell(tmp_path / "cells", "convnext_b", "bf", 0, 0.6)
    record = json.loads(cell.read_text())
    cell.write_text(json.dumps({**record, "confusion_percent": [[100.0, 0.0]]}))
    with pytest.raises(DatasetError, match=f"{cell}: no 3x3 confusion_percent"):
        Results.load([cell])


def test_heldout_f1_gets_its_own_column_when_the_records_have_it(tmp_path):
    paths = []
    for seed, (oracle, heldout) in enumerate([(0.6, 0.5), (0.7, 0.4)]):
        paths.append(write_image(tmp_path / f"{seed}.json", f"fcos/bf/all/seed{seed}", oracle, 0.5, 0.7,
                                 heldout={"f1": heldout, "threshold": 0.3}))  # fmt: skip
    rows, markdown = table("table4_image_level", {"omegas": [0.7], "annotator": "Unioned"}, paths)
    cell = next(r for r in rows if r["stage"] == "omega0.7" and r["metric"] == "f1_heldout")
    assert float(cell["mean"]) == pytest.approx(45.0) and cell["paper_mean"] == ""
    assert "BF F1 (val thr.)" in markdown and "threshold chosen on the val images" in markdown
    plain = write_image(tmp_path / "plain.json", "fcos/bf/all/seed0", 0.6, 0.5, 0.7)
    rows, markdown = table("table4_image_level", {"omegas": [0.7], "annotator": "Unioned"}, [plain])
    assert "val thr." not in markdown and all(r["metric"] != "f1_heldout" for r in rows)


def test_the_long_table_round_trips_every_value(tmp_path):
    paths = [write_cell(tmp_path / "runs", "convnext_b", "bf", 0, 1 / 3)]
    per_patient = {"r06": {"best_f1": 2 / 7, "ap50": 0.1}}
    paths.append(write_image(tmp_path / "p.json", "fcos/bf/u-pseudo-0.8/seed2", 0.6, 0.5, 0.7, per_patient))
    out = tmp_path / "results.csv"
    assert main(["results-table", "--metrics", *map(str, paths), "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == list(COLUMNS)
    f1 = next(r for r in rows if r["stage"] == "cell" and r["metric"] == "f1")
    assert float(f1["value"]) == 1 / 3 and f1["trainset_kind"] == "all"  # the exact float, not a rounding
    patient = next(r for r in rows if r["stage"] == "pipeline" and r["subset"] == "r06" and r["metric"] == "f1")
    assert float(patient["value"]) == 2 / 7
    assert (patient["trainset_kind"], patient["trainset_value"], patient["omega"]) == ("u-pseudo", "0.8", "0.7")
    assert [row.to_row() for row in read_results(out).rows] == [row.to_row() for row in Results.load(paths).rows]


def test_the_annotator_table_has_one_row_per_annotator(tmp_path):
    paths = []
    for annotator, f1 in (("Expert1", 0.4), ("Expert2", 0.5), ("Unioned", 0.6)):
        for setting in ("bf", "bf_fluo"):
            path = tmp_path / annotator / f"{setting}.json"
            paths.append(
                write_image(path, f"faster_rcnn/{setting}/all/seed0", f1, f1 / 2, 0.7, test_annotator=annotator)
            )
    params = {"detector": "faster_rcnn", "annotators": ["Expert1", "Expert2", "Unioned"], "omega": 0.7}
    spec = TABLES["annotators"]
    rows, markdown = render(spec, params, Results.load(paths), [])
    assert [(r["annotator"], r["setting"], r["metric"]) for r in rows[:4]] == [
        ("Expert1", "bf", "ap50"), ("Expert1", "bf", "f1"),
        ("Expert1", "bf_fluo", "ap50"), ("Expert1", "bf_fluo", "f1"),
    ]  # fmt: skip
    assert [float(r["mean"]) for r in rows if r["metric"] == "f1" and r["setting"] == "bf"] == pytest.approx(
        [40, 50, 60]
    )
    assert "| Expert2 | 1 | 25.0 ± – | 50.0 ± – | 25.0 ± – | 50.0 ± – |" in markdown
    assert spec.paper_file is None and all(r["paper_mean"] == "" for r in rows)


def write_external(path: Path, name: str, setting: str, seed: int, f1: float, ap50: float, per_patient=None) -> Path:
    """A metrics.json of `ctcbench score` for detections of a method ctcbench did not train."""
    method = {"name": name, "setting": setting, "seed": seed, "kind": "detections", "file": "x.json"}
    return write_image(path, None, f1, ap50, per_patient=per_patient, external_method=method)


def test_external_methods_get_their_own_rows_in_tables_4_and_6(tmp_path):
    per_patient = {p: {"best_f1": 0.3 + 0.1 * i, "ap50": 0.2} for i, p in enumerate(PATIENTS)}
    paths = [write_image(tmp_path / "frcnn.json", "faster_rcnn/bf/all/seed0", 0.5, 0.4)]
    paths += [write_external(tmp_path / f"ext{seed}.json", "my_method", "bf", seed, 0.6 + 0.1 * seed, 0.5, per_patient)
              for seed in (0, 1)]  # fmt: skip
    params = {"omegas": [1.0], "annotator": "Unioned", "external": [["my_method", "My method"]]}
    rows, markdown = table("table4_image_level", params, paths)
    mine = [r for r in rows if r["detector"] == "my_method"]
    assert {(r["stage"], r["setting"], r["metric"]) for r in mine} == {
        ("external", "bf", "f1"),
        ("external", "bf", "ap50"),
    }
    f1 = next(r for r in mine if r["metric"] == "f1")
    assert f1["n_runs"] == 2 and float(f1["mean"]) == pytest.approx(65.0) and f1["paper_mean"] in ("", None)
    assert "| My method | External method |" in markdown and "| Faster R-CNN | Detection stage |" in markdown
    # Not configured: no row, even with its records present.
    assert not [
        r for r in table("table4_image_level", {**params, "external": []}, paths)[0] if r["detector"] == "my_method"
    ]

    params6 = {"detector": "faster_rcnn", "setting": "bf_hoechst", "omega": 0.7, "annotator": "Unioned",
               "patients": PATIENTS, "external": [["my_method", "My method"]]}  # fmt: skip
    rows, markdown = table("table6_patients", params6, paths)
    r08 = next(r for r in rows if r["detector"] == "my_method" and r["tested_on"] == "r08")
    assert float(r08["mean"]) == pytest.approx(50.0) and r08["stage"] == "external"
    assert "My method (external method, BF, all patients)" in markdown


def test_external_cell_scores_get_their_own_rows_in_table_2(tmp_path):
    paths = [write_cell(tmp_path / "runs", "convnext_b", "bf", 0, 0.6)]
    record = json.loads(paths[0].read_text())
    record.pop("run")
    record["external_method"] = {"name": "my_cls", "setting": "bf", "seed": 0, "kind": "cell_scores", "file": "x"}
    external = tmp_path / "ext.json"
    external.write_text(json.dumps({**record, "f1": 0.7}))
    params = {"backbone": "convnext_b", "label": "ConvNext-B", "external": [["my_cls", "My classifier"]]}
    rows, markdown = table("table2_cell_level", params, [*paths, external])
    mine = next(r for r in rows if r["backbone"] == "my_cls" and r["metric"] == "f1")
    assert float(mine["mean"]) == pytest.approx(70.0) and mine["paper_label"] == "My classifier"
    assert "| My classifier (external method): Brightfield |" in markdown


def test_the_nucleus_detector_table_lists_its_one_run_overall_and_per_patient(tmp_path):
    """One row per subset of the classical detector's record (no setting: it is the same in every one), its own rows
    in the long table, none in Table 4 even beside a trained detector's record."""
    per_patient = {p: {"best_f1": 0.3 + 0.1 * i, "ap50": 0.2, "heldout": {"f1": 0.25}} for i, p in enumerate(PATIENTS)}
    nucleus = write_image(tmp_path / "nucleus.json", "classical/nucleus", 0.55, 0.35, per_patient=per_patient,
                          heldout={"f1": 0.5})  # fmt: skip
    trained = write_image(tmp_path / "frcnn.json", "faster_rcnn/bf/all/seed0", 0.5, 0.4)
    params = {"annotator": "Unioned", "recipe": {"blur": 5, "gradient": "x_minus_y"}}
    spec = TABLES["nucleus_detector"]
    assert spec.paper_file is None
    rows, markdown = render(spec, params, Results.load([nucleus, trained]), [])
    assert [(r["tested_on"], r["metric"]) for r in rows if r["metric"] in ("ap50", "f1")] == [
        (subset, metric) for subset in ["all", *PATIENTS] for metric in ("ap50", "f1")
    ]
    f1 = {r["tested_on"]: float(r["mean"]) for r in rows if r["metric"] == "f1"}
    assert f1 == pytest.approx({"all": 55.0, "r06": 30.0, "r07": 40.0, "r08": 50.0})
    assert all(r["detector"] == "nucleus" and r["paper_mean"] == "" for r in rows)
    assert {r["n_runs"] for r in rows if r["metric"] in ("ap50", "f1")} == {1}
    assert "| All test images | 35.0 ± – | 55.0 ± – |" in markdown and "| Patient r08 |" in markdown
    assert "F1 (val thr.)" in markdown and "blur 5, gradient x_minus_y" in markdown
    assert "one run stands for every setting" in markdown
    table4, _ = table("table4_image_level", {"omegas": [], "annotator": "Unioned"}, [nucleus, trained])
    assert {r["detector"] for r in table4} == {"faster_rcnn"}


def test_the_error_decomposition_table_puts_the_stand_ins_between_the_detection_stage_and_the_pipeline(tmp_path):
    """Per detector: the detection stage, the oracle classifier, perfect localisation and the pipeline at each omega,
    each row from its own stage of the long table; a record of an unknown decomposition is refused."""
    run = "faster_rcnn/bf/all/seed0"
    classifier = {"classifier": {"backbone": "convnext_b"}}
    paths = [
        write_image(tmp_path / "detection.json", run, 0.40, 0.30, recall_at_best_f1=0.5),
        write_image(
            tmp_path / "oracle.json",
            run,
            0.80,
            0.667,
            1.0,
            decomposition="oracle_classifier",
            recall_at_best_f1=0.667,
            **classifier,
        ),  # fmt: skip
        write_image(
            tmp_path / "localised.json",
            run,
            0.60,
            0.55,
            1.0,
            decomposition="perfect_localisation",
            recall_at_best_f1=0.9,
            **classifier,
        ),  # fmt: skip
        write_image(tmp_path / "w1.json", run, 0.45, 0.35, 1.0, **classifier),
        write_image(tmp_path / "w07.json", run, 0.50, 0.42, 0.7, **classifier),
    ]
    params = {"omegas": [1.0, 0.7], "annotator": "Unioned"}
    rows, markdown = render(TABLES["error_decomposition"], params, Results.load(paths), [])
    stages = [r["stage"] for r in rows if r["metric"] == "ap50"]
    assert stages == ["detection", "oracle_classifier", "perfect_localisation", "omega1", "omega0.7"]
    ap50 = {r["stage"]: float(r["mean"]) for r in rows if r["metric"] == "ap50"}
    assert ap50 == pytest.approx({"detection": 30.0, "oracle_classifier": 66.7, "perfect_localisation": 55.0,
                                  "omega1": 35.0, "omega0.7": 42.0})  # fmt: skip
    assert {r["table"] for r in rows} == {"error_decomposition"} and {r["metric"] for r in rows} == {
        "ap50", "f1", "recall",
    }  # fmt: skip
    assert "| Faster R-CNN | Detector + oracle classifier (ω = 1) | 66.7 ± – | 80.0 ± – | 66.7 ± – |" in markdown
    assert "| Faster R-CNN | Perfect localisation + classifier (ω = 1) |" in markdown
    assert "| Faster R-CNN | Full pipeline (ω = 0.7) |" in markdown and "trivially perfect" in markdown
    stray = write_image(tmp_path / "stray.json", run, 0.5, 0.5, 1.0, decomposition="perfect_detector")
    with pytest.raises(DatasetError, match="stray.json: decomposition 'perfect_detector', expected one of"):
        Results.load([stray])


def test_the_controls_table_reads_chance_and_the_baselines_against_the_pipeline(tmp_path):
    """One row per control, in reading order: random boxes (the mean over their draws), the nucleus detector alone,
    the feature classifier per setting, then the main pipeline of the block's detector at the ablation omega, its
    Brightfield + Fluorescence row marked as an upper bound; other pipeline records stay out."""
    controls = tmp_path / "controls"
    draws = [f"random_boxes/any/seed{seed}" for seed in (0, 1, 2)]
    paths = [write_image(controls / f"r{seed}.json", "x", 0.01 * seed, 0.002 * seed, control=name)
             for seed, name in enumerate(draws)]  # fmt: skip
    paths.append(write_image(tmp_path / "nucleus.json", "classical/nucleus", 0.3, 0.2))
    for index, setting in enumerate(("bf", "bf_hoechst", "bf_fluo")):
        name = f"nucleus_features/{setting}/seed0"
        paths.append(write_image(controls / f"{setting}.json", name, 0.4 + 0.1 * index, 0.3, omega=1.0, control=name))
        name = f"nucleus_classifier/{setting}/seed0"
        paths.append(write_image(controls / f"t{setting}.json", name, 0.45 + 0.1 * index, 0.3, omega=1.0, control=name,
                                 classifier={"backbone": "convnext_b"}))  # fmt: skip
        for detector, omega in (("faster_rcnn", 0.7), ("faster_rcnn", 1.0), ("fcos", 0.7)):
            f1 = 0.6 + 0.1 * index if (detector, omega) == ("faster_rcnn", 0.7) else 0.01
            paths.append(write_image(tmp_path / detector / f"{setting}{omega}.json", f"{detector}/{setting}/all/seed0",
                                     f1, 0.5, omega=omega, classifier={"backbone": "convnext_b"}))  # fmt: skip
    params = {"detector": "faster_rcnn", "backbone": "convnext_b", "label": "ConvNext-B", "omega": 0.7,
              "annotator": "Unioned"}  # fmt: skip
    spec = TABLES["controls"]
    assert spec.paper_file is None and spec.columns[: len(spec.csv_columns)] == spec.csv_columns
    rows, markdown = render(spec, params, Results.load(paths), [])
    f1 = [(r["row"], r["setting"], r["detector"], r["backbone"], round(float(r["mean"]), 6)) for r in rows
          if r["metric"] == "f1"]  # fmt: skip
    assert f1 == [
        ("random_boxes", "", "random_boxes", "", 1.0),
        ("nucleus_detector", "", "nucleus", "", 30.0),
        ("nucleus_features", "bf", "nucleus", "crop_features", 40.0),
        ("nucleus_features", "bf_hoechst", "nucleus", "crop_features", 50.0),
        ("nucleus_features", "bf_fluo", "nucleus", "crop_features", 60.0),
        ("nucleus_classifier", "bf", "nucleus", "convnext_b", 45.0),
        ("nucleus_classifier", "bf_hoechst", "nucleus", "convnext_b", 55.0),
        ("nucleus_classifier", "bf_fluo", "nucleus", "convnext_b", 65.0),
        ("label_free", "bf", "faster_rcnn", "convnext_b", 60.0),
        ("label_free", "bf_hoechst", "faster_rcnn", "convnext_b", 70.0),
        ("upper_bound", "bf_fluo", "faster_rcnn", "convnext_b", 80.0),
    ]
    assert [r["n_runs"] for r in rows if r["metric"] == "f1"] == [3] + [1] * 10
    assert {r["metric"] for r in rows} == {"ap50", "f1"} and "F1 (val thr.)" not in markdown
    assert "| Random boxes (chance) | none: each image's count and box sizes | 3 | 0.2 ± 0.2 | 1.0 ± 1.0 |" in markdown
    assert "| Upper bound (not label-free): Faster R-CNN + ConvNext-B, ω = 0.7 | BF+FL | 1 |" in markdown
    assert "| Nucleus detector + feature classifier | Hoechst; classifier BF | 1 |" in markdown
    assert "| Nucleus detector + ConvNext-B | Hoechst; classifier BF+H | 1 |" in markdown
    heldout = write_image(tmp_path / "held.json", "classical/nucleus", 0.3, 0.2, heldout={"f1": 0.25})
    rows, markdown = render(spec, params, Results.load([*paths[:3], heldout]), [])
    assert {r["row"] for r in rows} == {"random_boxes", "nucleus_detector"} and "F1 (val thr.)" in markdown
