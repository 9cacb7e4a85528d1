"""tables/kfold_cv: each k-fold run's folds summarised per part and metric, the study's numbers beside them, and the
crop leak as stratified minus grouped."""

import json
from pathlib import Path

import pytest

from ctcbench.report.results import Results
from ctcbench.report.table_specs import TABLES
from ctcbench.report.views import render
from ctcbench.tables import read_paper_rows

ROOT = Path(__file__).resolve().parents[2]


def write_run(path: Path, scheme: str, heldout_auroc: list[float]) -> Path:
    folds = [
        {"fold": k, "trained_on": 10,
         "heldout": {"n": 5, "auroc": a, "sensitivity": 0.8, "specificity": 0.9, "tp": 4, "fn": 1, "fp": 0, "tn": 0},
         "test": {"n": 8, "auroc": 0.7, "sensitivity": 0.5, "specificity": 1.0, "tp": 2, "fn": 2, "fp": 0, "tn": 4}}
        for k, a in enumerate(heldout_auroc)
    ]  # fmt: skip
    spec = {"model": "resnet18", "init": "scratch", "setting": "bf_fluo", "scheme": scheme}
    path.write_text(json.dumps({"format": "ctcbench.kfold/1", "spec": spec, "protocol": "faithful", "folds": folds}))
    return path


def test_the_kfold_table_summarises_folds_beside_the_study_and_shows_the_leak(tmp_path):
    runs = [write_run(tmp_path / "s.json", "stratified", [0.9, 0.95, 1.0]),
            write_run(tmp_path / "g.json", "grouped", [0.8, 0.85, 0.9])]  # fmt: skip
    spec = TABLES["kfold_cv"]
    params = {"models": [["resnet18", "ResNet-18"]], "inits": ["scratch"], "settings": ["bf_fluo"],
              "schemes": ["stratified", "grouped"], "folds": 3}  # fmt: skip
    paper = read_paper_rows(ROOT / "resources" / "paper" / spec.paper_file)
    rows, markdown = render(spec, params, Results.load(runs), paper)
    cv_auroc = {r["scheme"]: r for r in rows if r["part"] == "heldout" and r["metric"] == "auroc"}
    assert float(cv_auroc["stratified"]["mean"]) == pytest.approx(95.0)
    assert float(cv_auroc["grouped"]["mean"]) == pytest.approx(85.0) and cv_auroc["grouped"]["n_runs"] == 3
    assert float(cv_auroc["stratified"]["paper_mean"]) == 98.0  # the study's ResNet-18 from scratch
    assert "| stratified | 3 | ResNet-18 (scratch) | 95.0 ± 5.0 (98.0 ± –) |" in markdown
    assert "| stratified − grouped |  | ResNet-18 (scratch) | +10.0 | +0.0 | +0.0 | +0.0 | +0.0 | +0.0 |" in markdown
    assert "VGG-16 (imagenet)" in markdown and "best transfer model (imagenet)" in markdown  # the study's only
    assert "different data" in markdown
    one, text = render(spec, {**params, "schemes": ["grouped"]}, Results.load(runs[1:]), paper)
    assert "stratified − grouped" not in text and "both_schemes" in text
