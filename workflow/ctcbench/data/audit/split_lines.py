"""Check 5, split-file line format (docs/dataset.md#file-naming, docs/dataset.md#splits,
docs/dataset.md#verify-split-lines): whether the lines of the split files are bare image stems, or carry an
extension, a directory or something else, and how many digits the field numbers of the ids have.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ..layout import IMAGE_ID_RE, SPLITS, DatasetLayout, is_image_id
from .common import CONSISTENT, NOT_CONSISTENT, Check, add_example, display_path, examples_markdown, table_lines

EXTENSION_RE = re.compile(r"\.(tiff?|xml|png|jpe?g)$", re.IGNORECASE)


def _line_kind(text: str) -> str:
    if "/" in text or "\\" in text:
        return "path"
    if EXTENSION_RE.search(text):
        return "extension"
    return "bare id" if is_image_id(text) else "other"


def check_split_lines(layout: DatasetLayout) -> Check:
    check = Check(
        "split_lines",
        "Split-file line format",
        "docs/dataset.md#file-naming, docs/dataset.md#splits, docs/dataset.md#verify-split-lines",
    )
    files: dict[str, dict[str, Any]] = {}
    examples: dict[str, list[dict[str, str]]] = {}
    for split in SPLITS:
        path = layout.split_file(split)
        try:
            raw_lines = path.read_text().splitlines() if path.is_file() else None
        except (OSError, UnicodeDecodeError):
            raw_lines = None
        if raw_lines is None:
            continue
        lines = [line for line in raw_lines if line.strip()]
        kinds = Counter(_line_kind(line.strip()) for line in lines)
        matches = [IMAGE_ID_RE.match(line.strip()) for line in lines]
        files[split] = {
            "lines": len(lines),
            "blank_lines": len(raw_lines) - len(lines),
            "surrounding_whitespace": sum(line != line.strip() for line in lines),
            **{k: kinds[k] for k in ("bare id", "extension", "path", "other")},
            "field_digits": dict(sorted(Counter(len(m["field"]) for m in matches if m).items())),
            "columns": sorted({m["col"] for m in matches if m}),
            "planes": sorted({m["plane"] for m in matches if m}),
        }
        for number, line in enumerate(raw_lines, 1):
            kind = _line_kind(line.strip()) if line.strip() else "bare id"
            if kind != "bare id":
                add_example(examples, kind, f"{display_path(layout, path)}:{number}", repr(line))
    check.data = {"files": files, "examples": examples}
    if not files:
        check.findings = ["No readable split file under `Annotations/`."]
        check.meaning = "The stem format of split lines (docs/dataset.md#verify-split-lines) stays unknown."
        return check
    rows = [
        [
            s,
            v["lines"],
            v["bare id"],
            v["extension"],
            v["path"],
            v["other"],
            v["surrounding_whitespace"],
            ", ".join(f"{d} ({n})" for d, n in v["field_digits"].items()) or "n/a",
        ]
        for s, v in files.items()
    ]
    check.findings = table_lines(
        [
            "split",
            "lines",
            "bare ids",
            "with extension",
            "with directory",
            "other",
            "with surrounding spaces",
            "field digits (lines)",
        ],
        rows,
    )
    example_lines = examples_markdown(examples)
    if example_lines:
        check.findings += [""] + example_lines
    widths = sorted({d for v in files.values() for d in v["field_digits"]})
    bad = sum(v["extension"] + v["path"] + v["other"] for v in files.values())
    if bad:
        check.verdict = NOT_CONSISTENT
        check.meaning = (
            f"{bad} split lines are not bare image stems: the readers (like the original's "
            "`<root>/brightfield/<id>.tiff`) would look for files that do not exist; strip extensions "
            "and directories before running the benchmark."
        )
    else:
        check.verdict = CONSISTENT
        check.meaning = (
            "Every line is a bare stem `r{row}c{col}f{field}p{plane}` as the readers expect; field "
            f"numbers have {' or '.join(map(str, widths))} digits (ids are taken from the split files, "
            "never rebuilt from numbers). Surrounding whitespace, if any, is stripped as the original "
            "did."
        )
    return check
