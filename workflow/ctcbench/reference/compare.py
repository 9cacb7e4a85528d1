"""Compare a regenerated results tree with the committed reference, cell by cell.

Equal means byte-identical. A column whose values are not bitwise repeatable may carry an explicit absolute
tolerance in the reference's `tolerances.yaml`, with the reason beside it; there is no blanket tolerance. Every
difference is reported with its file, row (by the row's identifying columns) or line, column, the reference value
and the new one.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ConfigError

# What a reference holds, relative to results/{preset}/: the tables, the numbers every figure plots, and every run's
# raw numbers (the long results table).
REFERENCE_GLOBS: tuple[str, ...] = ("tables/*.csv", "tables/*.md", "figures/*.csv", "results.csv")
# Rows shown in full before the rest of a file's differences are only counted.
MAX_SHOWN = 20


@dataclass(frozen=True)
class Difference:
    """One cell (or line) that differs, or a file present on one side only."""

    file: str
    where: str  # "row 3 (detector=fcos, metric=ap50)", "line 12", "header" or "file"
    column: str | None
    reference: str
    new: str

    def __str__(self) -> str:
        column = f" column {self.column}" if self.column else ""
        return f"{self.file} {self.where}{column}: reference {self.reference!r}, new {self.new!r}"


@dataclass(frozen=True)
class Tolerance:
    absolute: float
    why: str


Tolerances = dict[str, dict[str, Tolerance]]  # file -> column -> tolerance


def load_tolerances(path: Path) -> Tolerances:
    """`file: {column: {abs: 1.0e-4, why: "..."}}`; a tolerance without its reason is refused."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    tolerances: Tolerances = {}
    for file, columns in data.items():
        tolerances[file] = {}
        for column, entry in (columns or {}).items():
            if not isinstance(entry, dict) or "abs" not in entry or not str(entry.get("why", "")).strip():
                raise ConfigError(f"{path}: {file} column {column}: give `abs` and `why` (the reason it is needed)")
            tolerances[file][column] = Tolerance(float(entry["abs"]), str(entry["why"]))
    return tolerances


def collect(results: Path) -> dict[str, Path]:
    """The files of a results tree (results/{preset}/) that a reference holds, by path relative to it."""
    found = {}
    for pattern in REFERENCE_GLOBS:
        for path in sorted(results.glob(pattern)):
            found[path.relative_to(results).as_posix()] = path
    return found


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _row_label(index: int, header: list[str], row: list[str]) -> str:
    """A row named by its identifying (non-numeric, non-empty) cells, so a reader finds it without counting."""
    keys = [f"{name}={value}" for name, value in zip(header, row) if value and _number(value) is None]
    return f"row {index}" + (f" ({', '.join(keys)})" if keys else "")


def _within(reference: str, new: str, tolerance: Tolerance | None) -> bool:
    if tolerance is None:
        return False
    a, b = _number(reference), _number(new)
    if a is None or b is None:
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tolerance.absolute


def compare_csv(name: str, reference: str, new: str, tolerances: dict[str, Tolerance]) -> list[Difference]:
    ref_rows = list(csv.reader(io.StringIO(reference)))
    new_rows = list(csv.reader(io.StringIO(new)))
    if not ref_rows or not new_rows or ref_rows[0] != new_rows[0]:
        ref_header = ",".join(ref_rows[0]) if ref_rows else ""
        new_header = ",".join(new_rows[0]) if new_rows else ""
        return [Difference(name, "header", None, ref_header, new_header)]
    header = ref_rows[0]
    differences = []
    for index, (ref_row, new_row) in enumerate(zip(ref_rows[1:], new_rows[1:]), start=1):
        label = _row_label(index, header, ref_row)
        for column, ref_value, new_value in zip(header, ref_row, new_row):
            if ref_value != new_value and not _within(ref_value, new_value, tolerances.get(column)):
                differences.append(Difference(name, label, column, ref_value, new_value))
        if len(ref_row) != len(new_row):
            differences.append(Difference(name, label, None, f"{len(ref_row)} cells", f"{len(new_row)} cells"))
    for index, row in enumerate(ref_rows[len(new_rows) :], start=len(new_rows)):
        differences.append(Difference(name, _row_label(index, header, row), None, ",".join(row), "(no such row)"))
    for index, row in enumerate(new_rows[len(ref_rows) :], start=len(ref_rows)):
        differences.append(Difference(name, _row_label(index, header, row), None, "(no such row)", ",".join(row)))
    return differences


def compare_lines(name: str, reference: str, new: str) -> list[Difference]:
    ref_lines, new_lines = reference.splitlines(), new.splitlines()
    differences = []
    for n in range(max(len(ref_lines), len(new_lines))):
        ref = ref_lines[n] if n < len(ref_lines) else "(no such line)"
        new_ = new_lines[n] if n < len(new_lines) else "(no such line)"
        if ref != new_:
            differences.append(Difference(name, f"line {n + 1}", None, ref, new_))
    return differences


def compare_file(name: str, reference: Path, new: Path, tolerances: Tolerances) -> list[Difference]:
    ref_bytes, new_bytes = reference.read_bytes(), new.read_bytes()
    if ref_bytes == new_bytes:
        return []
    ref_text, new_text = ref_bytes.decode(), new_bytes.decode()
    if name.endswith(".csv"):
        return compare_csv(name, ref_text, new_text, tolerances.get(name, {}))
    return compare_lines(name, ref_text, new_text)


def compare_trees(reference: Path, regenerated: Path, tolerances: Tolerances) -> tuple[list[str], list[Difference]]:
    """The files compared and every difference between a reference folder and a regenerated results tree."""
    ref_files, new_files = collect(reference), collect(regenerated)
    differences = []
    for name in sorted(set(ref_files) | set(new_files)):
        if name not in new_files:
            differences.append(Difference(name, "file", None, "present", "not regenerated"))
        elif name not in ref_files:
            differences.append(Difference(name, "file", None, "not in the reference", "regenerated"))
        else:
            differences += compare_file(name, ref_files[name], new_files[name], tolerances)
    return sorted(set(ref_files) | set(new_files)), differences


def format_differences(configuration: str, differences: Iterable[Difference]) -> list[str]:
    """Readable lines, at most MAX_SHOWN per file, the rest counted."""
    lines, shown = [], {}
    for difference in differences:
        shown[difference.file] = shown.get(difference.file, 0) + 1
        if shown[difference.file] <= MAX_SHOWN:
            lines.append(f"{configuration}: {difference}")
    for file, count in shown.items():
        if count > MAX_SHOWN:
            lines.append(f"{configuration}: {file}: {count - MAX_SHOWN} more differences")
    return lines
