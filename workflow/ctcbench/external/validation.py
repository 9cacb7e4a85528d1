"""Problems of a submitted file, collected with where they are, and reported all at once."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DatasetError

SHOWN = 20  # problems listed in the error; the rest are counted


@dataclass
class Problems:
    """Every problem of one file: `where` (an image or crop id and its field) and what is wrong there."""

    path: Path
    remedy: str
    found: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.found.append(f"{where}: {what}")

    def raise_if_any(self) -> None:
        if not self.found:
            return
        shown = "\n".join(f"  - {item}" for item in self.found[:SHOWN])
        more = f"\n  ... and {len(self.found) - SHOWN} more" if len(self.found) > SHOWN else ""
        raise DatasetError(f"{self.path}: {len(self.found)} problem(s); {self.remedy}\n{shown}{more}")


DUPLICATES = "\0duplicates"  # where a parsed JSON object lists the keys it named more than once


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object that names a key twice would silently keep the last value: keep the first, list the others."""
    result: dict[str, Any] = {}
    duplicates = []
    for key, value in pairs:
        if key in result:
            duplicates.append(key)
        else:
            result[key] = value
    if duplicates:
        result[DUPLICATES] = duplicates
    return result


def read_submission(path: Path | str, expected_format: str, what: str, remedy: str) -> dict[str, Any]:
    """The JSON object of a submitted file with its format checked; one clear error for a file that is missing,
    empty, not JSON, not an object or of another format."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: {what} missing; {remedy}")
    text = path.read_text(errors="replace")
    if not text.strip():
        raise DatasetError(f'{path}: empty file; a {what} is a JSON object with "format": "{expected_format}"')
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path}: not JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: a JSON {type(data).__name__}; a {what} is a JSON object")
    if data.get("format") != expected_format:
        found = 'no "format" field' if "format" not in data else f"format {data['format']!r}"
        raise DatasetError(
            f'{path}: {found}; a {what} starts with "format": "{expected_format}" (docs/extending.md#external-methods)'
        )
    return data


WRITE_ONE = "write one as docs/extending.md#external-methods describes"
FIX_EACH = "fix each, then score again (the format: docs/extending.md#external-methods)"


def open_submission(
    path: Path, expected_format: str, what: str, section: str, keyed_by: str
) -> tuple[Problems, dict[str, Any], dict[str, Any]]:
    """A submitted file's problems so far, its JSON object and its `section` (an object keyed by `keyed_by`); a file
    whose section is not such an object is refused at once."""
    data = read_submission(path, expected_format, what, WRITE_ONE)
    problems = Problems(path, FIX_EACH)
    for key in duplicates_of(data):
        problems.add(key, "given twice at the top level")
    entries = data.get(section)
    if not isinstance(entries, dict):
        problems.add(section, f"must be an object keyed by {keyed_by}")
        problems.raise_if_any()
    return problems, data, entries


def duplicates_of(mapping: dict[str, Any]) -> list[str]:
    """Keys a JSON object named more than once (see `_no_duplicate_keys`)."""
    return list(mapping.pop(DUPLICATES, []))


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)
