"""`ctcbench smoke-report` on the demo's tiny sizes: Snakemake runs a classifier and a detector, each is killed once
after its first resume state, Snakemake's retry resumes it, and the table says so; the kill watch on its own."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time

import pytest

from ctcbench.cli import main
from ctcbench.plan import ClassifierRun
from ctcbench.smoke.kill_watch import KillLedger, KillWatch
from ctcbench.smoke.table import Where, run_row

# One classifier and one detector (Faster R-CNN), Brightfield only, the ablations reduced to the main rows, short
# schedules with a resume state every few steps and a checkpoint after each of two epochs.
DEMO_HANDFUL = [
    "settings=[bf]",
    "classify={schedule: {iterations: 40, milestones: [30], warmup: 5, val_every: 10}, resume_every: 10}",
    "detect={detectors: [faster_rcnn], epochs: 2, milestones: [1]}",
    "ablations={patients: {values: [], setting: bf}, fractions: {values: []}, unknown: {strategies: [], setting: bf},"
    " annotators: {values: [Unioned]}}",
]


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_training_is_killed_resumed_and_tabulated(tmp_path):
    command = ["smoke-report", "--preset", "demo", "--directory", str(tmp_path), "--config", *DEMO_HANDFUL,
               "--target", "classify", "detect"]  # fmt: skip
    assert main(command) == 0
    results = tmp_path / "results" / "demo"
    rows = read_rows(results / "smoke.csv")
    assert [(r["stage"], r["model"], r["setting"]) for r in rows] == [
        ("classify", "resnet_tiny", "bf"),
        ("detect", "faster_rcnn", "bf"),
    ]
    for row in rows:
        assert (row["status"], row["killed"], row["resumed"], row["metrics"]) == ("ok", "yes", "yes", "yes"), row
        assert float(row["s_per_step"]) > 0 and float(row["peak_rss_mb"]) > 0 and float(row["job_s"]) > 0
    assert rows[0]["steps"] == "40" and int(rows[0]["sessions"]) == 2
    assert rows[1]["resumed_from_epoch"] == "1" and float(rows[1]["predict_s"]) > 0
    classifier = json.loads((results / "classify/resnet_tiny/bf/all/seed0/run.json").read_text())
    assert classifier["compute"]["sessions"] == 2
    ledger = json.loads((results / "logs/smoke/kills.json").read_text())
    assert sorted(ledger) == [
        "results/demo/classify/resnet_tiny/bf/all/seed0",
        "results/demo/detect/faster_rcnn/bf/all/seed0",
    ]
    assert "| classify resnet_tiny/bf/all/seed0 | 40 |" in (results / "smoke.md").read_text()

    # Started again: nothing left to run, nothing killed twice, the same table.
    before = (results / "smoke.csv").read_text()
    assert main(command) == 0
    assert json.loads((results / "logs/smoke/kills.json").read_text()) == ledger
    assert (results / "smoke.csv").read_text() == before


def fake_training(tmp_path, *args):
    """A process whose command line is that of a training (`python -c ... -m ctcbench <command> ...`), in tmp_path."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-m", "ctcbench", *args],
                            cwd=tmp_path)  # fmt: skip


def test_the_watch_kills_each_training_once_after_its_first_resume_state(tmp_path):
    classifier = fake_training(tmp_path, "classify-train", "--out-dir", "results/x/classify/m/bf/all/seed0")
    detector = fake_training(tmp_path, "detect-train", "--model", "results/x/detect/d/bf/all/seed0/model.pth")
    shell = subprocess.Popen(["bash", "-c", "sleep 60; : -m ctcbench classify-train --out-dir results/x/shell"],
                             cwd=tmp_path)  # fmt: skip
    try:
        ledger = KillLedger(tmp_path / "kills.json", tmp_path)
        watch = KillWatch(os.getpid(), ledger)
        deadline = time.time() + 30
        while len(watch.trainings()) < 2:  # the interpreters have started
            assert time.time() < deadline
            time.sleep(0.05)
        assert watch.poll() == []  # no resume state yet
        (tmp_path / "results/x/classify/m/bf/all/seed0/resume").mkdir(parents=True)
        (tmp_path / "results/x/classify/m/bf/all/seed0/resume/last.pt").write_bytes(b"state")
        (tmp_path / "results/x/detect/d/bf/all/seed0/work").mkdir(parents=True)
        (tmp_path / "results/x/detect/d/bf/all/seed0/work/last_checkpoint").write_text("")  # being written
        assert [t.stage for t in watch.poll()] == ["classify"]
        assert classifier.wait(timeout=10) == -9 and detector.poll() is None
        (tmp_path / "results/x/detect/d/bf/all/seed0/work/last_checkpoint").write_text("work/epoch_1.pth")
        assert [t.stage for t in watch.poll()] == ["detect"] and detector.wait(timeout=10) == -9
        assert watch.poll() == [] and shell.poll() is None  # the shell around a job is never a training
        assert sorted(json.loads((tmp_path / "kills.json").read_text())) == [
            "results/x/classify/m/bf/all/seed0",
            "results/x/detect/d/bf/all/seed0",
        ]
        # A driver started again reads the ledger: the rerun of a killed training is left alone.
        again = fake_training(tmp_path, "classify-train", "--out-dir", "results/x/classify/m/bf/all/seed0")
        rewatch = KillWatch(os.getpid(), KillLedger(tmp_path / "kills.json", tmp_path))
        while not any(t.pid == again.pid for t in rewatch.trainings()):
            assert time.time() < deadline
            time.sleep(0.05)
        assert rewatch.poll() == [] and again.poll() is None
        again.kill()
    finally:
        for process in (classifier, detector, shell):
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("record", "metrics", "killed", "status"),
    [
        (None, False, False, "not trained"),
        ({"sessions": 2}, False, True, "not evaluated"),
        ({"sessions": 1}, True, False, "not killed: it ended before its first resume state was seen"),
        ({"sessions": 1}, True, True, "killed, but trained again from the start"),
        ({"sessions": 2}, True, True, "ok"),
    ],
)
def test_a_row_says_what_the_proof_misses(tmp_path, record, metrics, killed, status):
    run = ClassifierRun("m", "bf", "all", 0)
    run_dir = tmp_path / run.path("results/x")
    run_dir.mkdir(parents=True)
    if record is not None:
        compute = {"wall_time_s": 3.0, "sessions": record["sessions"], "peak_memory": {"cpu_rss": 100.0},
                   "step_seconds": {"median": 0.5}}  # fmt: skip
        payload = {"format": "ctcbench.run/1", "training": {"steps": 4}, "compute": compute}
        (run_dir / "run.json").write_text(json.dumps(payload))
    if metrics:
        (run_dir / "metrics.json").write_text("{}")
    row = run_row(Where(tmp_path, "results/x"), run, {"killed_after_s": 1.0} if killed else None, kills=True)
    assert row["status"] == status
