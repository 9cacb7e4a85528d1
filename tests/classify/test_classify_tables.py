"""Tables 2 and 3: mean ± std over seeds (both ddof), the paper's numbers beside ours."""

import csv
import json

import numpy as np
import pytest
from classify_helpers import ROOT
from pointer_helpers import write_twin_pointer

from ctcbench.cli import main

F1 = {"bf": [0.60, 0.61, 0.62], "bf_hoechst": [0.66, 0.65, 0.67], "bf_fluo": [0.945, 0.944, 0.946]}


def write_metrics(folder, backbone, setting, seed, f1, trainset="all"):
    path = folder / backbone / setting / trainset / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True)
    record = {
        "run": {"backbone": backbone, "setting": setting, "trainset": trainset, "seed": seed},
        "protocol": "faithful",
        "checkpoint": "best.pt",
        "checkpoint_step": 1999,
        "f1": f1,
        "precision": f1 - 0.1,
        "recall": f1 + 0.1,
        "threshold": 0.4,
        "auroc": f1 + 0.2,
        "accuracy": 0.5,
        "oracle": {"f1": f1},
    }
    path.write_text(json.dumps(record))
    return path


def test_tables_from_metrics(tmp_path):
    paths = []
    for backbone in ("convnext_b", "resnet50"):
        for setting, values in F1.items():
            for seed, value in enumerate(values):
                paths.append(write_metrics(tmp_path / "runs", backbone, setting, seed, value))
    paths.append(write_metrics(tmp_path / "runs", "convnext_b", "bf", 0, 0.1, trainset="frac-0.1"))  # not in tables
    out = tmp_path / "tables"
    assert (
        main(
            [
                "classify-table",
                "--metrics",
                *map(str, paths),
                "--main-backbone",
                "convnext_b",
                "--backbones",
                "convnext_b",
                "resnet50",
                "--labels",
                "convnext_b=ConvNext-B",
                "resnet50=ResNet-50",
                "--paper-table2",
                str(ROOT / "resources/paper/table2_cell_level.csv"),
                "--paper-table3",
                str(ROOT / "resources/paper/table3_backbones.csv"),
                "--table2-csv",
                str(out / "t2.csv"),
                "--table2-md",
                str(out / "t2.md"),
                "--table3-csv",
                str(out / "t3.csv"),
                "--table3-md",
                str(out / "t3.md"),
                "--runs-csv",
                str(out / "runs.csv"),
                "--dataset",
                str(write_twin_pointer(tmp_path)),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(open(out / "t2.csv")))
    assert len(rows) == 12
    bf_f1 = next(r for r in rows if r["setting"] == "bf" and r["metric"] == "f1")
    values = np.array(F1["bf"]) * 100
    assert float(bf_f1["mean"]) == pytest.approx(values.mean())
    assert float(bf_f1["std_ddof0"]) == pytest.approx(values.std(ddof=0))
    assert float(bf_f1["std_ddof1"]) == pytest.approx(values.std(ddof=1)) == pytest.approx(1.0)
    assert (float(bf_f1["paper_mean"]), float(bf_f1["paper_std"])) == (60.5, 0.4)
    assert float(bf_f1["delta"]) == pytest.approx(values.mean() - 60.5) and bf_f1["n_runs"] == "3"
    table2 = (out / "t2.md").read_text()
    assert "| Brightfield | 3 | 61.0 ± 1.0 (60.5 ± 0.4) |" in table2

    rows3 = list(csv.DictReader(open(out / "t3.csv")))
    assert len(rows3) == 2 * 3 * 2
    resnet = next(
        r for r in rows3 if r["backbone"] == "resnet50" and r["setting"] == "bf_fluo" and r["metric"] == "auroc"
    )
    assert resnet["paper_label"] == "ResNet-50" and float(resnet["paper_mean"]) == 99.3
    assert float(resnet["mean"]) == pytest.approx(114.5)
    table3 = (out / "t3.md").read_text()
    assert table3.count("\n| ResNet-50 | 3 |") == 1 and "BF+FL AUROC" in table3

    runs = list(csv.DictReader(open(out / "runs.csv")))
    assert len(runs) == 19 and {r["trainset"] for r in runs} == {"all", "frac-0.1"}


def test_single_seed_has_no_sample_std(tmp_path):
    path = write_metrics(tmp_path, "resnet_tiny", "bf", 0, 0.5)
    assert (
        main(
            [
                "classify-table",
                "--metrics",
                str(path),
                "--main-backbone",
                "resnet_tiny",
                "--table2-md",
                str(tmp_path / "t2.md"),
                "--table2-csv",
                str(tmp_path / "t2.csv"),
                "--dataset",
                str(write_twin_pointer(tmp_path)),
            ]
        )
        == 0
    )
    assert "| Brightfield | 1 | 50.0 ± – |" in (tmp_path / "t2.md").read_text()
    row = next(csv.DictReader(open(tmp_path / "t2.csv")))
    assert row["std_ddof0"] == "0.000000" and row["std_ddof1"] == ""
