"""`ctcbench compute` end to end on a trimmed demo grid (one detector, no detector ablation): both files written,
every stage in them; a missing Table 1 is one line naming the file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from ctcbench.cli import main
from ctcbench.config import read_config_file

ROOT = Path(__file__).resolve().parents[2]
DEMO_TABLE1 = ROOT / "tests" / "reference" / "demo-faithful" / "tables" / "table1.csv"


@pytest.fixture
def trimmed_config(tmp_path) -> Path:
    """The demo preset with FCOS only, at 160 px, and only the fractions ablation (it pairs no detector)."""
    raw = read_config_file(ROOT / "config.yaml")
    demo = raw["presets"]["demo"]
    demo["detect"]["detectors"] = ["fcos"]
    demo["dataset"]["expected_image_size"] = 160
    raw["ablations"] = {"fractions": raw["ablations"]["fractions"]}
    demo["ablations"] = {"fractions": demo["ablations"]["fractions"]}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_command_writes_the_projection(trimmed_config, tmp_path):
    pytest.importorskip("mmdet")
    out = tmp_path / "out"
    args = ["compute", "--config", str(trimmed_config), "--set", "preset=demo", "--counts", str(DEMO_TABLE1)]
    assert main([*args, "--threads", "1", "--csv", str(out / "compute.csv"), "--md", str(out / "compute.md")]) == 0
    with open(out / "compute.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["stage"], r["model"], r["task"]) for r in rows} >= {
        ("classifiers", "resnet_tiny", "train"),
        ("detectors", "fcos", "train"),
        ("inference", "fcos", "predict"),
        ("inference", "resnet_tiny", "score_fcos"),
        ("total", "", ""),
    }
    fcos = next(r for r in rows if r["model"] == "fcos" and r["task"] == "train")
    assert (fcos["runs"], fcos["steps"], fcos["unit"]) == ("3", str(3 * 4 * 12), "2 images, forward + backward")
    page = (out / "compute.md").read_text()
    assert page.startswith("# Compute projection: demo preset, faithful protocol")
    assert "it meets the target of 5.**" in page


def test_a_missing_table1_is_one_line(tmp_path, capsys):
    missing = tmp_path / "table1.csv"
    config = str(ROOT / "config.yaml")
    args = ["compute", "--config", config, "--set", "preset=demo", "--counts", str(missing), "--csv", "a.csv"]
    assert main([*args, "--md", "a.md"]) == 1
    assert f"ctcbench compute: error: {missing}: Table 1 missing" in capsys.readouterr().err


def test_overrides_need_a_config_file(capsys):
    args = ["compute", "--config-json", "{}", "--set", "preset=demo", "--csv", "a.csv", "--md", "a.md"]
    assert main(args) == 1
    assert "--set overrides --config" in capsys.readouterr().err
