"""The brightfield-only track's tables: its runs' rows in the right cells beside the study's published numbers,
and its statistics table against scipy.stats, through the `table` command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from pointer_helpers import write_twin_pointer
from scipy import stats

from ctcbench.cli import main
from ctcbench.report.table_specs import TABLES

PAPER = Path(__file__).resolve().parents[2] / "resources" / "paper"
WITHOUT = [0.70, 0.72, 0.69, 0.74, 0.71]  # bf-aug3 (BF w/o nuclear), five seeds
WITH = [0.80, 0.79, 0.81, 0.78, 0.82]  # bfnuc-aug3 (BF w/ nuclear)


def write_run(folder: Path, backbone: str, trainset: str, seed: int, f1: float) -> Path:
    path = folder / backbone / "bf" / trainset / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True)
    record = {"run": {"backbone": backbone, "setting": "bf", "trainset": trainset, "seed": seed},
              "protocol": "faithful", "f1": f1, "precision": f1 + 0.01, "recall": f1 - 0.01, "accuracy": f1 + 0.02,
              "threshold": None, "auroc": 0.9, "confusion_order": ["R", "G"],
              "confusion_percent": [[80.0, 20.0], [30.0, 70.0]]}  # fmt: skip
    path.write_text(json.dumps(record))
    return path


@pytest.fixture
def runs(tmp_path) -> list[Path]:
    paths = []
    for seed, (a, b) in enumerate(zip(WITHOUT, WITH)):
        paths.append(write_run(tmp_path / "runs", "resnet50", "bfo-bf-aug3", seed, a))
        paths.append(write_run(tmp_path / "runs", "resnet50", "bfo-bfnuc-aug3", seed, b))
        paths.append(write_run(tmp_path / "runs", "resnet34", "bfo-bfnuc-aug3", seed, b - 0.3))
    return paths


def run_table(tmp_path: Path, name: str, params: dict, paths: list[Path]) -> tuple[list[dict], str]:
    out, pointer = tmp_path / "tables", write_twin_pointer(tmp_path)
    args = ["table", "--name", name, "--params", json.dumps(params), "--metrics", *map(str, paths),
            "--paper-dir", str(PAPER), "--dataset", str(pointer), "--csv", str(out / f"{name}.csv"),
            "--md", str(out / f"{name}.md")]  # fmt: skip
    assert main(args) == 0
    return list(csv.DictReader(open(out / f"{name}.csv"))), (out / f"{name}.md").read_text()


def test_the_backbones_table_sits_beside_the_studys_table_2(tmp_path, runs):
    params = {"backbones": [["resnet50", "ResNet-50"], ["resnet34", "ResNet-34"]], "unknown": "drop"}
    rows, text = run_table(tmp_path, "bf_only_backbones", params, runs)
    f1 = {r["backbone"]: r for r in rows if r["metric"] == "f1"}
    assert float(f1["resnet50"]["mean"]) == pytest.approx(100 * np.mean(WITH))
    assert (f1["resnet50"]["paper_mean"], f1["resnet50"]["paper_std"]) == ("79.8", "0.5")  # its Table 2, percent
    assert f1["resnet34"]["paper_mean"] == "40.7" and int(f1["resnet34"]["n_runs"]) == 5
    assert "not from this dataset" in text and "Δ" not in text


def test_the_ablation_table_has_the_studys_rows(tmp_path, runs):
    params = {"backbone": "resnet50", "label": "ResNet-50", "variants": ["bf-aug3", "bfnuc-aug3", "nuc-aug3"],
              "unknown": "drop"}  # fmt: skip
    rows, text = run_table(tmp_path, "bf_only_ablation", params, runs)
    accuracy = {r["trainset"]: r for r in rows if r["metric"] == "accuracy"}
    assert float(accuracy["bfo-bf-aug3"]["mean"]) == pytest.approx(100 * (np.mean(WITHOUT) + 0.02))
    assert accuracy["bfo-bf-aug3"]["paper_mean"] == "78.0" and accuracy["bfo-nuc-aug3"]["paper_mean"] == "53.7"
    assert accuracy["bfo-nuc-aug3"]["n_runs"] == "0"  # planned but not run: an empty row beside the study's
    assert "| BF w/o nuclear | `bfo-bf-aug3` | 5 |" in text and "| nuclear w/o BF |" in text


def test_the_statistics_table_is_scipys(tmp_path, runs):
    rows, text = run_table(tmp_path, "bf_only_stats", {"backbone": "resnet50", "arms": ["bf-aug3", "bfnuc-aug3"]},
                           runs)  # fmt: skip
    by_test = {r["test"]: r for r in rows}
    assert list(rows[0]) == list(TABLES["bf_only_stats"].columns)
    u = stats.mannwhitneyu(WITHOUT, WITH, alternative="two-sided")
    assert float(by_test["mann_whitney_u"]["p_value"]) == pytest.approx(u.pvalue, abs=1e-6)
    assert float(by_test["levene"]["p_value"]) == pytest.approx(stats.levene(WITHOUT, WITH).pvalue, abs=1e-6)
    assert float(by_test["shapiro_b"]["statistic"]) == pytest.approx(stats.shapiro(WITH).statistic, abs=1e-6)
    assert by_test["mann_whitney_u"]["paper_p_value"] == "0.011" and by_test["levene"]["paper_p_value"] == "0.176"
    assert by_test["levene"]["n_a"] == "5" and "| Mann-Whitney U (two-sided) | 0.000000 | 0.008 | 0.011 |" in text


def write_image(folder: Path, name: str, f1: float, omega: float | None = None, backbone: str = "") -> Path:
    record = {"best_f1": f1, "ap50": f1 - 0.1, "per_patient": {}, "test_annotator": "Unioned", "run": name}
    if omega is not None:
        record.update({"pipeline_run": name, "omega": omega, "classifier": {"backbone": backbone}})
    path = folder / name / (f"omega{omega:g}" if omega is not None else "") / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def test_the_image_level_table_puts_the_track_beside_table4s_brightfield_rows(tmp_path):
    paths = []
    for seed in (0, 1):
        paths.append(write_image(tmp_path / "detect", f"fcos/bf/all/seed{seed}", 0.40))
        paths.append(write_image(tmp_path / "pipeline", f"fcos/bf/all/seed{seed}", 0.50, 0.7, "convnext_b"))
        paths.append(write_image(tmp_path / "pipeline", f"fcos/bf/bfo-bfnuc-aug3/seed{seed}", 0.55, 0.7, "resnet50"))
    labels = {"resnet50": "ResNet-50", "convnext_b": "ConvNeXt-B"}
    params = {"detectors": ["fcos"], "omegas": [0.7], "annotator": "Unioned", "backbone": "resnet50",
              "main_backbone": "convnext_b", "labels": labels}  # fmt: skip
    rows, text = run_table(tmp_path, "bf_only_image_level", params, paths)
    f1 = {(r["stage"], r["trainset"]): r for r in rows if r["metric"] == "f1"}
    assert float(f1[("omega0.7", "bfo-bfnuc-aug3")]["mean"]) == pytest.approx(55.0)
    assert f1[("omega0.7", "bfo-bfnuc-aug3")]["paper_mean"] == ""  # the study had no image level
    assert f1[("omega0.7", "all")]["paper_mean"] != "" and f1[("detection", "all")]["paper_mean"] != ""
    assert float(f1[("detection", "all")]["mean"]) == pytest.approx(40.0)
    assert "ResNet-50, brightfield-only track (`bfo-bfnuc-aug3`)" in text
