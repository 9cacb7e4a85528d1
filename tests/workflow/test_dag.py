"""The DAG plans without network: the default config lists the data stage for the real dataset."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(*args, cwd=ROOT):
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def job_counts(stdout):
    counts = {}
    lines = stdout.split("Job stats:")[1].splitlines()[3:]
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_default_config_plans_the_data_stage_for_the_real_dataset(tmp_path):
    result = snakemake("-n", "--directory", str(tmp_path), "--snakefile", str(ROOT / "Snakefile"),
                       "--configfile", str(ROOT / "config.yaml"))
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert counts["fetch_dataset"] == 1
    assert counts["validate_dataset"] == 1
    assert counts["crop_cache"] == 3
    assert "results/paper/crops/faithful/train.npz" in result.stdout


def test_demo_preset_plans_the_synthetic_twin(tmp_path):
    result = snakemake("-n", "--directory", str(tmp_path), "--snakefile", str(ROOT / "Snakefile"),
                       "--configfile", str(ROOT / "config.yaml"), "--config", "preset=demo")
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout)["synth_dataset"] == 1


def test_config_error_stops_with_one_line(tmp_path):
    result = snakemake("-n", "--directory", str(tmp_path), "--snakefile", str(ROOT / "Snakefile"),
                       "--configfile", str(ROOT / "config.yaml"), "--config", "protocol=fathful")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert errors == [
        "ctcbench: configuration error: config.yaml (with --config overrides): protocol = 'fathful': "
        "expected one of faithful, corrected"
    ]
    assert "Traceback" not in result.stderr


def test_lint_is_clean():
    result = snakemake("--lint")
    assert result.returncode == 0
    assert "Congratulations" in result.stdout + result.stderr
