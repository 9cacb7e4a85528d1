"""The README's demo numbers, generated from the committed reference so they can never go stale.

The block between the two markers in README.md is rewritten by `ctcbench reference-update`; a test checks that
it equals what the committed reference gives.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..detect.recipes import DETECTOR_TITLES
from ..provenance import REPO_ROOT

README = REPO_ROOT / "README.md"
BEGIN = "<!-- demo-numbers: generated from tests/reference/ by `make update-reference`; do not edit -->"
END = "<!-- /demo-numbers -->"
SETTINGS = (("bf", "Brightfield"), ("bf_hoechst", "+ Hoechst"), ("bf_fluo", "+ Fluorescence"))
STAGES = (("detection", "detection stage"), ("omega0.7", "full pipeline, ω = 0.7"))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _mean(rows: list[dict[str, str]], **match: str) -> str:
    found = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    if len(found) != 1 or found[0]["mean"] == "":
        return "–"
    return f"{float(found[0]['mean']):.1f}"


def cell_level_line(folder: Path) -> str:
    rows = _rows(folder / "tables" / "table2_cell_level.csv")
    parts = [
        f"{title} {_mean(rows, setting=s, metric='f1')} / {_mean(rows, setting=s, metric='auroc')}"
        for s, title in SETTINGS
    ]
    return "Cell level, F1 / AUROC on val: " + ", ".join(parts) + "."


def image_level_table(folder: Path) -> list[str]:
    rows = _rows(folder / "tables" / "table4_image_level.csv")
    lines = ["| AP50 / best F1 on test | " + " | ".join(t for _, t in SETTINGS) + " |", "|---|---|---|---|"]
    for detector, title in DETECTOR_TITLES.items():
        for stage, stage_title in STAGES:
            cells = [
                f"{_mean(rows, detector=detector, setting=s, stage=stage, metric='ap50')} / "
                f"{_mean(rows, detector=detector, setting=s, stage=stage, metric='f1')}"
                for s, _ in SETTINGS
            ]
            lines.append(f"| {title}, {stage_title} | " + " | ".join(cells) + " |")
    return lines


def render_demo_numbers(reference: Path) -> str:
    """The Markdown between the markers: both reference configurations, in percent."""
    faithful, corrected = reference / "demo-faithful", reference / "demo-corrected"
    lines = [
        BEGIN,
        f"**Faithful protocol** (`tests/reference/demo-faithful/`). {cell_level_line(faithful)}",
        "",
        *image_level_table(faithful),
        "",
        "**Corrected protocol, four-channel Brightfield + Hoechst** (`tests/reference/demo-corrected/`). "
        + cell_level_line(corrected),
        "",
        *image_level_table(corrected),
        END,
    ]
    return "\n".join(lines)


def current_block(text: str) -> str | None:
    if BEGIN not in text or END not in text:
        return None
    start = text.index(BEGIN)
    return text[start : text.index(END, start) + len(END)]


def update_readme(reference: Path, readme: Path = README) -> bool:
    """Rewrite the README's block from `reference`; True when it changed."""
    text = readme.read_text()
    block = current_block(text)
    if block is None:
        raise ValueError(f"{readme}: the demo-numbers markers are missing ({BEGIN} ... {END})")
    new = render_demo_numbers(reference)
    if block == new:
        return False
    readme.write_text(text.replace(block, new))
    return True
