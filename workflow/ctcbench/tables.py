"""Helpers every table and figure CSV shares, below every stage (data, classify, detect, pipeline, report)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .io import atomic_path


def write_csv(path: Path | str, rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """Rows as CSV in the given column order, atomically; None is written as an empty cell."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
