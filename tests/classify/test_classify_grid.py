"""The classifier grid: 180 trainings on the paper config (docs/experiments.md#experiment-grid), planned by Snakemake
too."""

import collections
import subprocess
import sys

from classify_helpers import ROOT

from ctcbench.classify.grid import planned_runs, trainset_path
from ctcbench.config import load


def test_paper_grid_has_180_classifier_runs():
    runs = planned_runs(load(ROOT / "config.yaml"))
    assert len(runs) == len(set(runs)) == 180
    by_trainset = collections.Counter(r.trainset.split("-")[0] if r.trainset != "all" else "all" for r in runs)
    assert by_trainset == {"all": 126, "patient": 9, "frac": 36, "u": 9}
    assert {r.backbone for r in runs if r.trainset != "all"} == {"convnext_b"}
    assert {r.setting for r in runs if r.trainset.startswith(("patient", "u-"))} == {"bf_hoechst"}


def test_demo_grid_is_small():
    runs = planned_runs(load(ROOT / "config.yaml", {"preset": "demo"}))
    assert len(runs) == 3 + 3 + 6 + 3


def test_trainset_paths():
    assert trainset_path("t", "frac-0.05", 2) == "t/frac-0.05/seed2.tsv"
    assert trainset_path("t", "u-pseudo-0.8", 2) == "t/u-pseudo-0.8.tsv"


def test_snakemake_plans_180_classifier_trainings(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--directory",
            str(tmp_path),
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--configfile",
            str(ROOT / "config.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    counts = {}
    for line in result.stdout.split("Job stats:")[1].splitlines()[3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    assert counts["classify_train"] == 180 and counts["classify_eval"] == 180
    assert counts["pseudo_labels"] == 1 and counts["classify_tables"] == 1
    assert "results/paper/classify/swin_b/bf_fluo/all/seed2/metrics.json" in result.stdout
    assert "results/paper/splits/trainsets/u-pseudo-0.8.tsv" in result.stdout
