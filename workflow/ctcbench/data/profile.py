"""The data stage's cost, from a finished results tree: each step's wall time and peak memory (its benchmark TSV,
results/{preset}/benchmarks/data/) and the disk use of what the stage leaves behind (the dataset root, each crop
cache, the split lists, the reports).

No data step holds all images in memory: the twin is written image by image, validation decodes each image once
and drops it, the audit reads one raw image at a time, the crop cache step streams its crops to disk
(crop_writer) and the training-set step reads only the cache's metadata. Peak memory therefore stays near that of
a few images, whatever the dataset's size; the profile is how that is checked at a given size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..benchmarks import Benchmark, read_benchmark
from ..errors import DatasetError
from .pointer import read_pointer

BENCHMARKS = "benchmarks/data"  # below results/{preset}/: one TSV per data job (rules in data.smk)
PROFILE = ("profile.csv", "profile.md")  # written beside the data stage's reports, in results/{preset}/data/
# The data rules in the order they run; a benchmark file is named after its rule (crop caches: and their wildcards).
STEP_ORDER = ("fetch_dataset", "stage_local_dataset", "synth_dataset", "validate_dataset", "audit_dataset",
              "image_splits", "crop_cache", "trainsets", "human_agreement")  # fmt: skip
COLUMNS = ("kind", "name", "path", "wall_s", "cpu_s", "peak_rss_mb", "io_out_mb", "size_mb", "files")


@dataclass(frozen=True)
class Step:
    name: str
    path: Path
    benchmark: Benchmark


@dataclass(frozen=True)
class Output:
    name: str
    path: Path
    size_bytes: int
    files: int


def _order(name: str) -> tuple[int, str]:
    rank = next((i for i, rule in enumerate(STEP_ORDER) if name == rule or name.startswith(f"{rule}_")), None)
    return (len(STEP_ORDER) if rank is None else rank, name)


def steps(results: Path) -> list[Step]:
    """Every data step's benchmark, in the order the stage runs them."""
    folder = results / BENCHMARKS
    files = sorted(folder.glob("*.tsv"), key=lambda path: _order(path.stem))
    if not files:
        raise DatasetError(
            f"{folder}: no benchmark files; the data stage writes one per step: run it (snakemake data) first"
        )
    return [Step(path.stem, path, read_benchmark(path)) for path in files]


def disk_use(path: Path, skip: tuple[str, ...] = ()) -> tuple[int, int]:
    """Bytes (apparent size) and number of the files at or below `path`, less those named in `skip`."""
    if path.is_file():
        return path.stat().st_size, 1
    size = count = 0
    for folder, _, names in os.walk(path):
        for name in names:
            entry = Path(folder) / name
            if name not in skip and entry.is_file() and not entry.is_symlink():
                size, count = size + entry.stat().st_size, count + 1
    return size, count


def outputs(results: Path) -> list[Output]:
    """The dataset root, each crop cache, the split lists and the reports (those that exist)."""
    pointer = read_pointer(results / "data" / "dataset.json")
    candidates = [(f"dataset root ({pointer.source})", Path(pointer.root))]
    candidates += [(f"crop cache {p.relative_to(results / 'crops').with_suffix('')}", p)
                   for p in sorted((results / "crops").glob("*/*/*.npz"))]  # fmt: skip
    candidates += [
        ("image lists", results / "splits" / "images"),
        ("training sets", results / "splits" / "trainsets"),
        ("reports (validation, audit, agreement)", results / "data"),
    ]
    return [Output(name, path, *disk_use(path, PROFILE)) for name, path in candidates if path.exists()]
