"""Training curves of every run: the training loss (binned means) and, for classifiers, the val accuracy.

Every training run writes `curves.csv` beside its `run.json` (classifiers: step, lr, loss, val_accuracy;
detectors: iteration, epoch, lr, loss and its terms). One panel per run group (stage, model, training set), one
line per setting and seed. The loss is averaged over at most `MAX_POINTS` equal bins of steps so that a 36,000-step
run draws as clearly as a 200-step one; the plotted numbers are written as CSV.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..data.channels import SETTINGS, SHORT_SETTINGS
from ..errors import DatasetError
from ..run_record import identity, read_run_record
from .common import add_caption, save_png

MAX_POINTS = 100
CURVES_FILE = "curves.csv"
CSV_COLUMNS = ("stage", "model", "trainset", "setting", "seed", "series", "step", "value")
STAGES = ("classify", "detect")


@dataclass(frozen=True)
class RunCurves:
    stage: str  # classify | detect
    model: str  # backbone or detector
    trainset: str
    setting: str
    seed: int
    steps: np.ndarray
    loss: np.ndarray
    val_steps: np.ndarray
    val_accuracy: np.ndarray


def read_curves_csv(path: Path) -> dict[str, list[str]]:
    if not path.is_file():
        raise DatasetError(f"{path}: training curves missing; retrain the run (its rule writes {CURVES_FILE})")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [row[key] for row in rows] for key in (rows[0].keys() if rows else ())}


def load_run_curves(run_json: Path) -> RunCurves:
    stage, model, trainset, setting, seed = identity(read_run_record(run_json))
    columns = read_curves_csv(run_json.parent / CURVES_FILE)
    step_key = "step" if "step" in columns else "iteration"
    steps = np.asarray(columns.get(step_key, []), np.int64)
    loss = np.asarray(columns.get("loss", []), np.float64)
    accuracy = columns.get("val_accuracy", [""] * len(steps))
    measured = [i for i, value in enumerate(accuracy) if value != ""]
    return RunCurves(
        stage, model, trainset, setting, seed, steps, loss,
        steps[measured], np.asarray([accuracy[i] for i in measured], np.float64),
    )  # fmt: skip


def binned(steps: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Means of `values` over at most `max_points` consecutive, equal-count bins, placed at each bin's last step."""
    if len(steps) <= max_points:
        return steps, values
    edges = np.linspace(0, len(steps), max_points + 1).astype(np.int64)
    ends = steps[edges[1:] - 1]
    means = np.asarray([values[a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
    return ends, means


def group_runs(runs: list[RunCurves]) -> dict[tuple[str, str, str], list[RunCurves]]:
    """Runs by (stage, model, trainset), each group's lines in the settings' and seeds' order."""
    order = {s: i for i, s in enumerate(SETTINGS)}
    groups: dict[tuple[str, str, str], list[RunCurves]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: (r.stage, r.model, r.trainset, order.get(r.setting, 9), r.seed)):
        groups[(run.stage, run.model, run.trainset)].append(run)
    return dict(groups)


def curve_rows(runs: list[RunCurves]) -> list[dict[str, Any]]:
    """The plotted numbers: binned loss and measured val accuracy of every run."""
    rows = []
    for run in runs:
        identity = {"stage": run.stage, "model": run.model, "trainset": run.trainset, "setting": run.setting,
                    "seed": run.seed}  # fmt: skip
        for step, value in zip(*binned(run.steps, run.loss)):
            rows.append({**identity, "series": "loss", "step": int(step), "value": f"{value:.6f}"})
        for step, value in zip(run.val_steps, run.val_accuracy):
            rows.append({**identity, "series": "val_accuracy", "step": int(step), "value": f"{value:.6f}"})
    return rows


def curves_figure(groups: dict[tuple[str, str, str], list[RunCurves]], stage: str) -> Figure:
    chosen = [(key, runs) for key, runs in groups.items() if key[0] == stage]
    columns = min(4, max(len(chosen), 1))
    rows = max(1, -(-len(chosen) // columns))
    figure = Figure(figsize=(3.6 * columns, 2.8 * rows + 0.4))
    for index, ((_, model, trainset), runs) in enumerate(chosen):
        axis = figure.add_subplot(rows, columns, index + 1)
        accuracy_axis = axis.twinx() if any(len(r.val_steps) for r in runs) else None
        for line, run in enumerate(runs):
            colour = f"C{line % 10}"
            label = f"{SHORT_SETTINGS.get(run.setting, run.setting)} s{run.seed}"
            axis.plot(*binned(run.steps, run.loss), color=colour, lw=1, label=label)
            if accuracy_axis is not None and len(run.val_steps):
                accuracy_axis.plot(run.val_steps, run.val_accuracy, color=colour, lw=1, ls="--", marker=".", ms=3)
        axis.set_title(f"{model} / {trainset}", fontsize=9)
        axis.set_xlabel("step" if stage == "classify" else "iteration", fontsize=8)
        axis.set_ylabel("training loss", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=6, loc="upper right")
        if accuracy_axis is not None:
            accuracy_axis.set_ylabel("val accuracy (dashed)", fontsize=8)
            accuracy_axis.tick_params(labelsize=7)
    what = "classifiers" if stage == "classify" else "detectors"
    figure.suptitle(f"Training curves of the {what}", fontsize=10)
    figure.tight_layout()
    add_caption(
        figure,
        f"Training loss (mean over at most {MAX_POINTS} equal bins of steps) of every run; "
        + (
            "dashed: argmax accuracy on the val crops at each validation."
            if stage == "classify"
            else "the loss is the sum of the detector's terms."
        ),  # fmt: skip
    )
    return figure


def write_curve_figures(run_jsons: list[Path], out: dict[str, Path], csv_path: Path) -> None:
    """One PNG per stage in `out` ({"classify": path, "detect": path}) and the plotted numbers as one CSV."""
    from ..tables import write_csv

    runs = [load_run_curves(Path(p)) for p in run_jsons]
    groups = group_runs(runs)
    for stage, path in out.items():
        save_png(curves_figure(groups, stage), path)
    write_csv(csv_path, curve_rows([r for runs_ in groups.values() for r in runs_]), CSV_COLUMNS)
