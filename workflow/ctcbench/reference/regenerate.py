"""Run one reference configuration of the DAG from scratch in a scratch directory, and make its HTML report.

The run uses the repository's Snakefile and config.yaml with the configuration's `--config` overrides, in its own
`--directory`, so nothing of an existing results tree is reused or touched. Its Snakemake output goes to a log
file beside the results; a failure prints that log's tail.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .. import workflow_run
from ..errors import CtcbenchError
from ..provenance import REPO_ROOT
from .configs import Configuration

LOG_TAIL_LINES = 60


class RegenerationError(CtcbenchError):
    """The DAG of a reference configuration failed."""


def snakemake_command(configuration: Configuration, directory: Path, *extra: str) -> list[str]:
    return workflow_run.snakemake_command(directory, configuration.overrides, *extra)


def _run(command: list[str], log_path: Path, what: str) -> None:
    with open(log_path, "a") as log:
        done = subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, env=workflow_run.job_environment(), cwd=REPO_ROOT
        )
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        raise RegenerationError(f"{what} failed (exit {done.returncode}); log {log_path}:\n" + "\n".join(tail))


def results_root(configuration: Configuration, directory: Path) -> Path:
    return directory / "results" / configuration.preset


def regenerate(configuration: Configuration, directory: Path, cores: int) -> float:
    """Run the whole DAG of `configuration` in `directory` (which must be new or empty); returns seconds taken."""
    if directory.exists() and any(directory.iterdir()):
        raise RegenerationError(f"{directory}: not empty; the reference check runs from scratch in a new folder")
    directory.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    command = snakemake_command(
        configuration, directory, "--cores", str(cores), "--show-failed-logs", "--printshellcmds"
    )
    _run(command, directory / "snakemake.log", f"{configuration.name}: the demo DAG")
    return time.monotonic() - started


def html_report(configuration: Configuration, directory: Path) -> Path:
    """`snakemake --report` of a finished run: results/{preset}/report.html."""
    path = results_root(configuration, directory) / "report.html"
    command = snakemake_command(configuration, directory, "--report", str(path))
    _run(command, directory / "snakemake.log", f"{configuration.name}: snakemake --report")
    return path
