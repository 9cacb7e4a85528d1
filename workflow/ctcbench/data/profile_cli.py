"""`ctcbench data-profile`: each data step's wall time and peak memory and the disk use of its outputs, for a
finished data stage, as results/{preset}/data/profile.{csv,md} (ready for the README)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..io import atomic_write_text, format_bytes
from ..tables import markdown_table, write_csv
from .profile import COLUMNS, PROFILE, Output, Step, outputs, steps

log = logging.getLogger(__name__)
MIB = 2**20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results", required=True, type=Path, help="a preset's results folder with a finished data stage, e.g. "
        "results/smoke; the profile is written to its data/ folder",
    )  # fmt: skip


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def csv_rows(found: list[Step], stored: list[Output]) -> list[dict[str, str | int]]:
    rows: list[dict[str, str | int]] = [
        {"kind": "step", "name": s.name, "path": str(s.path), "wall_s": _number(s.benchmark.wall_s, 2),
         "cpu_s": _number(s.benchmark.cpu_s, 2), "peak_rss_mb": _number(s.benchmark.peak_rss_mb, 1),
         "io_out_mb": _number(s.benchmark.io_out_mb, 1)}
        for s in found
    ]  # fmt: skip
    rows += [{"kind": "output", "name": o.name, "path": str(o.path), "size_mb": _number(o.size_bytes / MIB, 3),
              "files": o.files} for o in stored]  # fmt: skip
    return rows


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f} s" if value < 600 else f"{value / 60:.1f} min"


def _memory(value: float | None) -> str:
    return "not sampled" if value is None else format_bytes(value * MIB)


def markdown(results: Path, found: list[Step], stored: list[Output]) -> str:
    step_rows = [[s.name, _seconds(s.benchmark.wall_s), _seconds(s.benchmark.cpu_s), _memory(s.benchmark.peak_rss_mb)]
                 for s in found]  # fmt: skip
    total_wall = sum(s.benchmark.wall_s for s in found)
    peaks = [s.benchmark.peak_rss_mb for s in found if s.benchmark.peak_rss_mb is not None]
    step_rows.append(["**all steps**", _seconds(total_wall), "", _memory(max(peaks) if peaks else None)])
    output_rows = [[o.name, format_bytes(o.size_bytes), f"{o.files:,}"] for o in stored]
    total_size, total_files = sum(o.size_bytes for o in stored), sum(o.files for o in stored)
    output_rows.append(["**all**", format_bytes(total_size), f"{total_files:,}"])
    lines = [
        f"# Data stage profile: {results}",
        "",
        "Wall and CPU time and peak memory (resident set of the job's processes) of each step, from Snakemake's "
        "benchmark files. Snakemake samples memory every 0.5 s for a job's first 15 s and every 30 s after, so the "
        "peak is the largest sample, a lower bound; a job of under a second is `not sampled` (its one sample saw the "
        "shell start). The "
        "steps' total is their sum (the stage runs some of them side by side), its memory the largest step's.",
        "",
        *markdown_table(["Step", "Wall", "CPU", "Peak memory"], step_rows),
        "",
        "Disk use of what the stage leaves behind (apparent size of the files).",
        "",
        *markdown_table(["Output", "Size", "Files"], output_rows),
    ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> None:
    results = args.results
    found, stored = steps(results), outputs(results)
    csv_path, md_path = (results / "data" / name for name in PROFILE)
    write_csv(csv_path, csv_rows(found, stored), COLUMNS)
    atomic_write_text(md_path, markdown(results, found, stored))
    log.info("%d steps, %d outputs -> %s, %s", len(found), len(stored), csv_path, md_path)
