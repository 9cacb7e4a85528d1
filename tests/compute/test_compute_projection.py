"""FLOPs to GPU-hours, the rows summed per stage, model and task, and compute.csv / compute.md written atomically
with the expected columns and a verdict on the target."""

from __future__ import annotations

import csv

import pytest

from ctcbench.compute import report
from ctcbench.compute.networks import INFER, TRAIN, ClassifierNetwork, StepFlops
from ctcbench.compute.projection import COLUMNS, Assumptions, gpu_hours, rows, stage_totals
from ctcbench.compute.report import Context, write_report
from ctcbench.compute.workload import CLASSIFIERS, INFERENCE, Work

NET = {c: ClassifierNetwork("tiny", "test_resnet", c, 3, 32, 4, 0.0) for c in (3, 6)}
FLOPS = {NET[3]: StepFlops(train=3e12, infer=2e9), NET[6]: StepFlops(train=5e12, infer=4e9)}
ASSUME = Assumptions(peak_tflops=1000.0, efficiency={"classifiers": 0.5, "detectors": 0.25, "inference": 0.1},
                     target_gpu_hours=0.005)  # fmt: skip


def works() -> list[Work]:
    return [
        Work(CLASSIFIERS, "tiny", "train", NET[3], TRAIN, 2, 1000),
        Work(CLASSIFIERS, "tiny", "train", NET[6], TRAIN, 1, 500),
        Work(INFERENCE, "tiny", "validation", NET[3], INFER, 1, 10**6, "a guess"),
    ]


def test_gpu_hours_divide_the_flops_by_the_sustained_rate():
    assert gpu_hours(1000e12 * 0.5 * 3600, 1000, 0.5) == pytest.approx(1.0)
    assert gpu_hours(989e12 * 3600, 989, 0.25) == pytest.approx(4.0)


def test_rows_sum_a_models_runs_and_channel_counts():
    table = rows(works(), FLOPS, ASSUME, {"tiny": 2.5})
    train, validation, total = table
    assert (train["runs"], train["steps"]) == (3, 1500)
    assert train["pflops"] == pytest.approx((1000 * 3e12 + 500 * 5e12) / 1e15)
    assert train["tflops_per_step"] == pytest.approx((1000 * 3 + 500 * 5) / 1500)
    assert train["gpu_hours"] == pytest.approx(5.5e15 / (1000e12 * 0.5) / 3600)
    assert train["gpu_hours_per_run"] == pytest.approx(train["gpu_hours"] / 3)
    assert train["paper_train_hours_rtx3090"] == 2.5
    assert train["paper_tflops_sustained"] == pytest.approx(5.5e15 / 3 / (2.5 * 3600) / 1e12)
    assert validation["efficiency"] == 0.1 and validation["estimate"] == "a guess"
    assert validation["paper_train_hours_rtx3090"] is None
    assert total["gpu_hours"] == pytest.approx(train["gpu_hours"] + validation["gpu_hours"])
    assert stage_totals(table)["inference"]["pflops"] == pytest.approx(2.0)


def write(tmp_path, table):
    context = Context("tiny preset, faithful protocol", "H100 SXM", "hand-made counts", 0.0)
    write_report(tmp_path / "compute.csv", tmp_path / "compute.md", table, ASSUME, context)


def test_the_csv_and_the_page(tmp_path):
    table = rows(works(), FLOPS, ASSUME, {})
    write(tmp_path, table)
    with open(tmp_path / "compute.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert tuple(written[0]) == COLUMNS
    assert [r["stage"] for r in written] == ["classifiers", "inference", "total"]
    assert float(written[-1]["gpu_hours"]) == pytest.approx(table[-1]["gpu_hours"], rel=1e-5)
    page = (tmp_path / "compute.md").read_text()
    assert page.startswith("# Compute projection: tiny preset, faithful protocol\n")
    hours = table[-1]["gpu_hours"]
    assert f"**Projected total: {hours:.3g} H100 SXM GPU-hours; it does not meet the target of 0.005.**" in page
    assert "meeting the target needs an average efficiency of" in page
    assert "| tiny | 3 | 1,500 |" in page


def test_a_projection_under_the_target_says_so(tmp_path):
    small = [Work(CLASSIFIERS, "tiny", "train", NET[3], TRAIN, 1, 10)]
    write(tmp_path, rows(small, FLOPS, ASSUME, {}))
    assert "it meets the target of 0.005.**" in (tmp_path / "compute.md").read_text()


def test_a_failed_write_leaves_the_previous_files(tmp_path, monkeypatch):
    table = rows(works(), FLOPS, ASSUME, {})
    write(tmp_path, table)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(*args):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(report, "markdown", broken)
    with pytest.raises(RuntimeError):
        write(tmp_path, rows(works()[:1], FLOPS, ASSUME, {}))
    # Neither file is touched and no temporary file is left behind.
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_an_interrupted_csv_write_leaves_no_partial_file(tmp_path, monkeypatch):
    table = rows(works(), FLOPS, ASSUME, {})
    write(tmp_path, table)
    before = (tmp_path / "compute.csv").read_bytes()

    def broken_row(row):
        if row["stage"] == "total":
            raise RuntimeError("interrupted")
        return row

    monkeypatch.setattr(report, "_csv_row", broken_row)
    with pytest.raises(RuntimeError):
        write(tmp_path, table)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compute.csv", "compute.md"]
    assert (tmp_path / "compute.csv").read_bytes() == before
