"""Tables 4-6 from hand-made metrics records: the right records in each cell, means and stds, the paper's values."""

import json
from pathlib import Path

import numpy as np
import pytest

from ctcbench.classify.table import read_paper_rows
from ctcbench.errors import DatasetError
from ctcbench.pipeline.table import load_image_runs, table4, table5, table6

PAPER = Path(__file__).resolve().parents[2] / "resources" / "paper"
PATIENTS = ["r06", "r07", "r08"]


def write_record(path: Path, run: str, f1: float, ap50: float, omega=None, per_patient=None) -> Path:
    data = {"best_f1": f1, "ap50": ap50, "per_patient": per_patient or {}}
    if omega is None:
        data["run"] = run
    else:
        data.update({"pipeline_run": run, "omega": omega, "run": "detector run name, not used"})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


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
                    run = f"{detector}/{setting}/all/seed{seed}"
                    path = tmp_path / detector / setting / stage / f"{seed}.json"
                    paths.append(write_record(path, run, f1, f1 / 2, omega))
    rows, markdown = table4(load_image_runs(paths), [1.0, 0.7], read_paper_rows(PAPER / "table4_image_level.csv"))
    assert len(rows) == 2 * 3 * 2 * 2  # detectors x stages x settings x metrics
    for row in rows:
        f1s = values[(row["detector"], row["setting"], row["stage"])] * 100
        expected = f1s if row["metric"] == "f1" else f1s / 2
        assert row["n_runs"] == 3
        assert float(row["mean"]) == pytest.approx(expected.mean())
        assert float(row["std_ddof1"]) == pytest.approx(expected.std(ddof=1))
        assert float(row["std_ddof0"]) == pytest.approx(expected.std(ddof=0))
    # The paper's Faster R-CNN BF+FL full pipeline at omega 0.7: AP50 89.2, F1 87.8
    # (docs/experiments.md#experiment-grid).
    cell = next(
        r
        for r in rows
        if (r["detector"], r["setting"], r["stage"], r["metric"]) == ("faster_rcnn", "bf_fluo", "omega0.7", "f1")
    )
    assert (cell["paper_mean"], float(cell["delta"])) == (87.8, pytest.approx(float(cell["mean"]) - 87.8))
    assert "| Faster R-CNN | Full pipeline (ω = 0.7) |" in markdown and "| DINO | Detection stage |" in markdown


def test_table5_rows_follow_the_paper_strategies(tmp_path):
    f1 = {"u-drop": 0.50, "u-pseudo-all": 0.52, "u-pseudo-0.8": 0.54, "all": 0.58}
    paths = [
        write_record(tmp_path / f"{name}.json", f"faster_rcnn/bf_hoechst/{name}/seed0", value, 0.4, 0.7)
        for name, value in f1.items()
    ]
    paths.append(write_record(tmp_path / "other.json", "faster_rcnn/bf_hoechst/all/seed0", 0.9, 0.9, 1.0))
    rows, markdown = table5(
        load_image_runs(paths),
        "faster_rcnn",
        "bf_hoechst",
        ["u-drop", "u-pseudo-all", "u-pseudo-0.8"],
        0.7,
        read_paper_rows(PAPER / "table5_unknown_cells.csv"),
    )
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
            paths.append(
                write_record(path, f"faster_rcnn/bf_hoechst/{trainset}/seed{seed}", 0.5, 0.5, 0.7, per_patient)
            )
    rows, markdown = table6(
        load_image_runs(paths),
        "faster_rcnn",
        "bf_hoechst",
        PATIENTS,
        0.7,
        read_paper_rows(PAPER / "table6_patients.csv"),
    )
    assert len(rows) == 12
    cell = next(r for r in rows if r["trainset"] == "patient-r08" and r["tested_on"] == "r07")
    assert float(cell["mean"]) == pytest.approx(31.0) and float(cell["std_ddof1"]) == pytest.approx(0.0)
    assert cell["paper_mean"] == 39.7  # trained on the 3rd patient, tested on the 2nd
    assert "| 3rd patient (r08) |" in markdown


def test_missing_or_unnamed_records_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="metrics missing"):
        load_image_runs([tmp_path / "absent.json"])
    bad = write_record(tmp_path / "bad.json", "faster_rcnn/bf/all", 0.5, 0.5)
    with pytest.raises(DatasetError, match="not detector/setting/trainset/seedN"):
        load_image_runs([bad])


def test_heldout_f1_gets_its_own_column_when_the_records_have_it(tmp_path):
    paths = []
    for seed, (oracle, heldout) in enumerate([(0.6, 0.5), (0.7, 0.4)]):
        path = tmp_path / f"{seed}.json"
        write_record(path, f"fcos/bf/all/seed{seed}", oracle, 0.5, 0.7)
        data = json.loads(path.read_text())
        data["heldout"] = {"f1": heldout, "threshold": 0.3}
        path.write_text(json.dumps(data))
        paths.append(path)
    rows, markdown = table4(load_image_runs(paths), [0.7], [])
    cell = next(r for r in rows if r["stage"] == "omega0.7" and r["metric"] == "f1_heldout")
    assert float(cell["mean"]) == pytest.approx(45.0) and cell["paper_mean"] == ""
    assert "BF F1 (val thr.)" in markdown and "threshold chosen on the val images" in markdown
    oracle_only = write_record(tmp_path / "plain.json", "fcos/bf/all/seed0", 0.6, 0.5, 0.7)
    plain, plain_markdown = table4(load_image_runs([oracle_only]), [0.7], [])
    assert "val thr." not in plain_markdown and all(r["metric"] != "f1_heldout" for r in plain)
