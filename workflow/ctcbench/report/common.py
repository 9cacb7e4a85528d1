"""What every figure shares: panel order, run selection, missing-input errors and atomic PNG writes.

Figures are drawn on a bare `matplotlib.figure.Figure` (Agg canvas, no pyplot), so no global backend state is
touched and nothing needs a display.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ..data.channels import SETTINGS, SHORT_SETTINGS
from ..errors import DatasetError
from ..io import atomic_path

# Panels in the tables' order of the settings (BF, BF+H, BF+FL), so a figure reads like the table beside it; the
# paper's Figs 7, 8 and 10 put BF+FL first: (a) BF+FL, (b) BF, (c) BF+H.
PANEL_ORDER: tuple[str, ...] = SETTINGS
PANEL_LETTERS = "abcdefgh"
MAKER_RULE = "classify_eval"
RUN_LAYOUT = "results/<preset>/classify/{backbone}/{setting}/{trainset}/seed<S>/{name}"


def panel_title(index: int, setting: str) -> str:
    return f"({PANEL_LETTERS[index]}) {SHORT_SETTINGS.get(setting, setting)}"


def missing_input(
    figure: str, what: str, backbone: str, settings: Iterable[str], trainset: str, name: str
) -> DatasetError:
    """One-line error naming the absent run records of a figure and the rule that makes them."""
    settings = list(settings)
    example = RUN_LAYOUT.format(backbone=backbone, setting=settings[0], trainset=trainset, name=name)
    return DatasetError(
        f"{figure}: no {what} of backbone {backbone}, trainset {trainset}, setting(s) {', '.join(settings)}; "
        f"rule {MAKER_RULE} makes them ({example})"
    )


def run_identity(record: dict[str, Any]) -> tuple[str, str, str, int]:
    run = record["run"]
    return run["backbone"], run["setting"], run["trainset"], int(run["seed"])


def index_runs(records: list[dict[str, Any]]) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """Runs by (backbone, setting, trainset, seed); a run given twice would silently weigh double, so it fails."""
    indexed: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for record in records:
        identity = run_identity(record)
        if identity in indexed:
            raise DatasetError(f"run {'/'.join(map(str, identity))} is given twice; pass each metrics.json once")
        indexed[identity] = record
    return indexed


def save_png(figure: Figure, path: Path | str, dpi: int = 150) -> None:
    """Write a PNG atomically: a killed process leaves no half-written image among the results."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")


def add_caption(figure: Figure, text: str) -> None:
    """Caption under the panels: what is plotted and what is ours rather than the paper's."""
    figure.text(0.01, -0.02, text, ha="left", va="top", fontsize=8, wrap=True)
