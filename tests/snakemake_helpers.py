"""Running the workflow in tests: Snakemake in a scratch directory with the repository's Snakefile and config, and
the job counts of its plan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def snakemake(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def in_directory(directory: Path) -> list[str]:
    """Options that run the repository's workflow with its config in `directory`."""
    return ["--directory", str(directory), "--snakefile", str(ROOT / "Snakefile"), "--configfile",
            str(ROOT / "config.yaml")]  # fmt: skip


def plan(directory: Path, *config: str, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """A dry run in `directory` with `--config` overrides (none: the default config)."""
    overrides = ["--config", *config] if config else []
    return snakemake("-n", *options, *in_directory(directory), *overrides)


def job_counts(stdout: str) -> dict[str, int]:
    """{rule: jobs} of a plan's job stats."""
    counts = {}
    for line in stdout.split("Job stats:")[1].splitlines()[3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts
