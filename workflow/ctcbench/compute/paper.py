"""The paper's training time of each classifier backbone (Table 3, `train_hours_rtx3090`: one run on an RTX 3090),
to set beside the projection's hours per run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..tables import read_paper_rows


def paper_train_hours(config: dict[str, Any], table3: Path | str) -> dict[str, float]:
    """Backbone key -> the paper's hours per training run, for the backbones Table 3 (its CSV) reports."""
    by_label: dict[str, float] = {}
    for row in read_paper_rows(table3):
        if row.get("train_hours_rtx3090"):
            by_label.setdefault(row["backbone"], float(row["train_hours_rtx3090"]))
    backbones = config["classify"]["backbones"]
    return {key: by_label[entry["paper"]] for key, entry in backbones.items() if entry["paper"] in by_label}
