"""Running this repository's workflow from a command (the reference check, the smoke driver): its Snakefile and
config.yaml in a working directory of one's choice, the jobs calling this interpreter's `python -m ctcbench`."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .provenance import REPO_ROOT


def snakemake_command(directory: Path, overrides: Sequence[str], *extra: str) -> list[str]:
    """`snakemake` on the repository's workflow in `directory`, with `extra` options and `--config` `overrides`."""
    return [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO_ROOT / "Snakefile"),
        "--configfile", str(REPO_ROOT / "config.yaml"),
        "--directory", str(directory),
        *extra,
        "--config", *overrides,
    ]  # fmt: skip


def job_environment() -> dict[str, str]:
    """This interpreter's bin folder first on PATH: the rules call `python -m ctcbench` with its packages."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
