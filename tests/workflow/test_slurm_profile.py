"""The cluster profile against a real (private, loopback) SLURM: the demo data stage runs as SLURM jobs.

Skipped where the SLURM and munge binaries are not installed or the test is not run as root (the daemons need it).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster, missing_binaries

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(bool(missing_binaries()), reason=f"SLURM not installed ({', '.join(missing_binaries())})"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the test starts slurmctld/slurmd/munged, which needs root"),
]


@pytest.fixture()
def cluster(tmp_path):
    cluster = SlurmCluster(tmp_path / "slurm")
    try:
        try:
            cluster.start(cpus=2, memory_mb=16000)
        except FileExistsError as exc:
            pytest.skip(str(exc))
        yield cluster
    finally:
        cluster.stop()


def test_data_stage_runs_through_the_slurm_profile(cluster, tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {**os.environ, **cluster.env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "results/demo/tables/table1.md",
        "results/demo/splits/trainsets/summary.json",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--configfile",
        str(ROOT / "config.yaml"),
        "--directory",
        str(workdir),
        "--workflow-profile",
        str(ROOT / "workflow" / "profiles" / "slurm"),
        # this node has one partition and no accounting; the profile's own defaults are for a GPU cluster
        "--default-resources",
        "slurm_partition=debug",
        "mem_mb=1000",
        "runtime=10",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--jobs",
        "2",
        "--slurm-keep-successful-logs",
        "--config",
        "preset=demo",
    ]
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert (workdir / "results/demo/tables/table1.md").is_file()
    assert (workdir / "results/demo/splits/trainsets/summary.json").is_file()
    # every job left a SLURM log: they really ran as SLURM jobs
    slurm_logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(slurm_logs) >= 4, output[-3000:]
