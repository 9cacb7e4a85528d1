"""The data stage end to end on the synthetic twin, through Snakemake, in a scratch working directory."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ctcbench.data.crops import CropCache
from ctcbench.data.layout import DatasetLayout
from ctcbench.data.splits import read_image_list, read_trainset

ROOT = Path(__file__).resolve().parents[2]


def run_snakemake(workdir, *extra):
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "data",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--configfile",
        str(ROOT / "config.yaml"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *extra,
        "--config",
        "preset=demo",
    ]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    result = run_snakemake(workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir


def test_outputs_exist_and_agree(demo_results):
    results = demo_results / "results" / "demo"
    pointer = json.loads((results / "data" / "dataset.json").read_text())
    assert pointer["source"] == "synth"
    layout = DatasetLayout(Path(pointer["root"]))
    assert Path(pointer["root"]) == (results / "dataset").resolve()
    # image lists equal the released split files; patient lists partition train
    train = read_image_list(results / "splits" / "images" / "train.txt")
    assert train == layout.read_split("train")
    per_patient = [read_image_list(results / "splits" / "images" / f"train-{p}.txt") for p in ("r06", "r07", "r08")]
    assert sorted(sum(per_patient, [])) == sorted(train)
    # crop caches: one file per split, train/val with R, G and U, test with R only (Unioned)
    # (the demo's faithful protocol: train and val from the release's crop files, test cut from the images)
    train_cache = CropCache.load(results / "crops" / "released" / "opencv" / "train.npz")
    test_cache = CropCache.load(results / "crops" / "cut" / "opencv" / "test.npz")
    assert set(np.unique(train_cache.labels)) == {0, 1, 2}
    assert set(np.unique(test_cache.labels)) == {0}
    assert set(train_cache.image_ids) <= set(train)
    # trainsets reference crops of the cache; Table 1 counts equal the cache's
    all_set = read_trainset(results / "splits" / "trainsets" / "all.tsv")
    assert [r.key for r in all_set] == train_cache.keys.tolist()
    table = (results / "tables" / "table1.csv").read_text()
    assert "train,all,R," in table
    report = json.loads((results / "data" / "validation.json").read_text())
    assert report["ok"] is True


def test_rerun_has_nothing_to_do(demo_results):
    result = run_snakemake(demo_results, "-n")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def results_files(workdir):
    """Every file the data stage wrote under results/demo/, except its logs and timing benchmarks."""
    results = workdir / "results" / "demo"
    skipped = {"logs", "benchmarks"}
    return {
        path.relative_to(results).as_posix(): path
        for path in results.rglob("*")
        if path.is_file() and path.relative_to(results).parts[0] not in skipped
    }


def test_a_second_run_writes_the_same_bytes(demo_results, tmp_path):
    """The same seed gives the same twin, split lists, crop caches and Table 1, byte for byte, also on one core
    instead of two (paths inside the files name their own working directory, so they are compared with it
    swapped)."""
    second = tmp_path / "second"
    result = run_snakemake(second, "--cores", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    first_files, second_files = results_files(demo_results), results_files(second)
    assert first_files.keys() == second_files.keys()
    assert len(first_files) > 100  # the twin's TIFFs and XMLs, the lists, the caches, the tables
    here, there = str(demo_results.resolve()).encode(), str(second.resolve()).encode()
    differ = [
        name
        for name, path in first_files.items()
        if path.read_bytes().replace(here, there) != second_files[name].read_bytes()
    ]
    assert differ == []


def test_the_html_report_renders_table1_in_a_browser(demo_results):
    """`snakemake --report` over the data stage, opened in headless Chromium: Table 1 is a result that shows its
    rows (skipped where Playwright or Chromium is missing; CI installs both)."""
    pytest.importorskip("playwright")
    from ctcbench.report.browser import check_report, find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium on PATH")
    report = demo_results / "results" / "demo" / "report.html"
    result = run_snakemake(demo_results, "--report", str(report))
    assert result.returncode == 0, result.stderr[-3000:]
    rendered = check_report(report, report.parent / "report-screenshots", chromium)  # kept beside the report
    table1 = next(r for r in rendered if r.name == "table1.html")
    assert table1.kind == "table" and table1.category.startswith("1.") and table1.screenshot.is_file()


def test_the_profile_tabulates_every_step_and_output(demo_results):
    """`ctcbench data-profile`: a row per data step from its benchmark file, a row per output with its size on disk."""
    from ctcbench.cli import main

    results = demo_results / "results" / "demo"
    assert main(["data-profile", "--results", str(results)]) == 0
    with open(results / "data" / "profile.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    steps = {row["name"]: row for row in rows if row["kind"] == "step"}
    caches = sorted(path.relative_to(results / "crops") for path in (results / "crops").glob("*/*/*.npz"))
    crop_steps = [f"crop_cache_{'_'.join(cache.with_suffix('').parts)}" for cache in caches]
    assert list(steps) == [
        "synth_dataset",
        "validate_dataset",
        "audit_dataset",
        "image_splits",
        *crop_steps,
        "trainsets",
    ]
    assert all(float(row["wall_s"]) > 0 for row in steps.values())
    outputs = {row["name"]: row for row in rows if row["kind"] == "output"}
    dataset = results / "dataset"
    assert int(outputs["dataset root (synth)"]["files"]) == sum(1 for p in dataset.rglob("*") if p.is_file())
    for cache in caches:
        size = (results / "crops" / cache).stat().st_size
        assert float(outputs[f"crop cache {cache.with_suffix('')}"]["size_mb"]) == pytest.approx(size / 2**20, abs=1e-3)
    assert int(outputs["image lists"]["files"]) == len(list((results / "splits" / "images").iterdir()))
    markdown = (results / "data" / "profile.md").read_text()
    assert "| synth_dataset |" in markdown and "| **all** |" in markdown
    # A second profile does not count the first one among the reports.
    assert main(["data-profile", "--results", str(results)]) == 0
    with open(results / "data" / "profile.csv", newline="") as handle:
        again = {row["name"]: row for row in csv.DictReader(handle) if row["kind"] == "output"}
    assert again["reports (validation, audit, agreement)"] == outputs["reports (validation, audit, agreement)"]
