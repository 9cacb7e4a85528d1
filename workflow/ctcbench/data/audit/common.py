"""What the audit's five checks share (docs/dataset.md#facts-to-verify): the verdicts and their texts, `Check`
(one audited fact: findings, verdict, meaning) and `AuditReport` (audit.json and audit.md), the Markdown table
and example helpers, and the cache through which the checks read each VOC file at most once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import DatasetError
from ...tables import markdown_table
from ..layout import DatasetLayout
from ..voc import VocAnnotation, read_voc

FORMAT = "ctcbench-audit/1"
CONSISTENT, NOT_CONSISTENT, NOT_CHECKABLE = "consistent", "not_consistent", "not_checkable"
VERDICT_TEXT = {CONSISTENT: "consistent", NOT_CONSISTENT: "NOT consistent", NOT_CHECKABLE: "not checkable here"}
MAX_EXAMPLES = 20  # per problem, in audit.json
MD_EXAMPLES = 5  # per problem, in audit.md
# How audit.md heads the examples of each kind of problem; kinds not named here (the split-line kinds) show as
# they are.
OUTCOME_TEXT = {
    "exact": "exact",
    "shape_mismatch": "shape mismatch",
    "pixel_mismatch": "pixel mismatch",
    "missing_raw": "missing raw image",
    "unparsable_name": "unparsable name",
    "unreadable_crop": "unreadable crop",
    "label_mismatch": "class folder differs from the XML",
    "label_unchecked": "class not checked (XML missing or unreadable)",
    "box_mismatch": "name differs from the XML object at its cell index",
}


@dataclass
class Check:
    """One audited fact: what was found (markdown lines and data), the verdict and what it means."""

    key: str
    title: str
    sections: str  # docs/ sections
    verdict: str = NOT_CHECKABLE
    meaning: str = ""
    findings: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "spec": self.sections,
            "verdict": self.verdict,
            "meaning": self.meaning,
            **self.data,
        }

    def markdown(self, number: int) -> list[str]:
        return [
            f"## {number}. {self.title} ({self.sections})",
            "",
            *self.findings,
            "",
            f"**Verdict: {VERDICT_TEXT[self.verdict]}.** {self.meaning}",
            "",
        ]


@dataclass
class AuditReport:
    root: Path
    source: str | None
    checks: list[Check]
    settings: dict[str, Any]

    def verdicts(self) -> dict[str, str]:
        return {c.key: c.verdict for c in self.checks}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "root": str(self.root),
            "source": self.source,
            "settings": self.settings,
            "verdicts": self.verdicts(),
            "checks": {c.key: c.to_dict() for c in self.checks},
        }

    def markdown(self) -> str:
        source = self.source or "unknown"
        lines = ["# Dataset audit (docs/dataset.md#facts-to-verify)", "", f"Dataset: `{self.root}` (source: {source})."]
        if self.source == "synth":
            lines += [
                "",
                "This is the synthetic twin: its counts come from the twin's preset, not from the release, "
                "so comparisons with the paper's numbers say nothing about the real data. Run the audit "
                "again once the figshare record is staged.",
            ]
        lines += [""]
        lines += ["| check | verdict |", "|---|---|"]
        lines += [f"| {n}. {c.title} | {VERDICT_TEXT[c.verdict]} |" for n, c in enumerate(self.checks, 1)]
        lines += [""]
        for number, check in enumerate(self.checks, 1):
            lines += check.markdown(number)
        return "\n".join(lines)


def table_lines(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Markdown table lines in Table 1's style, any cell values."""
    return markdown_table(header, [[str(v) for v in row] for row in rows])


def display_path(layout: DatasetLayout, path: Path) -> str:
    """The path relative to the dataset root where it lies below it, else as it is (examples and file rows)."""
    try:
        return str(path.relative_to(layout.root))
    except ValueError:
        return str(path)


def add_example(examples: dict[str, list[dict[str, str]]], kind: str, file: str, detail: str) -> None:
    """Record one example of a kind of problem, up to MAX_EXAMPLES per kind (audit.json)."""
    bucket = examples.setdefault(kind, [])
    if len(bucket) < MAX_EXAMPLES:
        bucket.append({"file": file, "detail": detail})


def examples_markdown(examples: Mapping[str, list[dict[str, str]]]) -> list[str]:
    """Markdown lines listing the first MD_EXAMPLES examples of each kind of problem (audit.md)."""
    lines = []
    for kind, rows in examples.items():
        if rows:
            lines.append(
                f"Examples, {OUTCOME_TEXT.get(kind, kind)} (first {min(len(rows), MD_EXAMPLES)}; "
                "up to 20 in audit.json):"
            )
            lines += [f"- `{row['file']}`: {row['detail']}" for row in rows[:MD_EXAMPLES]]
    return lines


class AnnotationCache:
    """VOC files read at most once; a missing or broken file is None (the audit reports, it does not fail)."""

    def __init__(self) -> None:
        self._cache: dict[Path, VocAnnotation | None] = {}

    def get(self, path: Path) -> VocAnnotation | None:
        if path not in self._cache:
            try:
                self._cache[path] = read_voc(path)
            except DatasetError:
                self._cache[path] = None
        return self._cache[path]
