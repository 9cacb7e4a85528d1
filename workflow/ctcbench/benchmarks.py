"""Snakemake's benchmark TSVs (a rule's `benchmark:`) read back: wall time, CPU time, peak memory and I/O of a job.

Snakemake samples the job's process tree every 0.5 s for its first 15 s and every 30 s after that, so `max_rss` is
the largest sample, a lower bound of the true peak: a spike shorter than the gap between two samples is missed.
The first sample is taken as the job's shell starts, before its command has loaded anything, so a job of under a
second has no meaningful peak (`peak_rss_mb` is None then, as where the file says "NA"). Memory and I/O are in MiB,
as Snakemake writes them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .errors import DatasetError

# The columns read; Snakemake writes more (h:m:s, max_vms, max_pss, mean_load).
COLUMNS = ("s", "max_rss", "max_uss", "io_in", "io_out", "cpu_time")
# Jobs shorter than this were sampled at their start only (Snakemake's second sample comes after 0.5 s).
SAMPLED_AFTER_S = 1.0


@dataclass(frozen=True)
class Benchmark:
    wall_s: float
    cpu_s: float | None
    max_rss_mb: float | None
    max_uss_mb: float | None
    io_in_mb: float | None
    io_out_mb: float | None

    @property
    def peak_rss_mb(self) -> float | None:
        """The largest resident-set sample, where the job ran long enough for it to mean something."""
        return self.max_rss_mb if self.wall_s >= SAMPLED_AFTER_S else None


def _number(text: str | None) -> float | None:
    """A TSV value; "NA" (not sampled) and "-" (none) are None."""
    if text is None or text.strip() in ("", "NA", "-"):
        return None
    return float(text)


def _largest(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def read_benchmark(path: Path | str) -> Benchmark:
    """A benchmark TSV; with `repeat` several rows, of which each column's largest value is kept."""
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the benchmark file ({exc.strerror})") from None
    missing = [column for column in COLUMNS if rows and column not in rows[0]]
    if not rows or missing:
        raise DatasetError(
            f"{path}: not a Snakemake benchmark file (no rows, or no column {missing[0] if missing else 's'}); "
            "delete it and rerun the job"
        )
    try:
        values = {column: [_number(row[column]) for row in rows] for column in COLUMNS}
    except ValueError as exc:
        raise DatasetError(f"{path}: a value is not a number ({exc}); delete it and rerun the job") from None
    return Benchmark(
        wall_s=_largest(values["s"]) or 0.0,
        cpu_s=_largest(values["cpu_time"]),
        max_rss_mb=_largest(values["max_rss"]),
        max_uss_mb=_largest(values["max_uss"]),
        io_in_mb=_largest(values["io_in"]),
        io_out_mb=_largest(values["io_out"]),
    )
