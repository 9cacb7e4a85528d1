"""Image-level result tables on the test images: Table 4 (detection stage and full pipeline), Table 5 (unknown-cell
strategies) and Table 6 (patient generalisation), mean ± std over seeds in percent beside the paper's values.

Records are the `metrics.json` files of detection-stage evaluations (`detect-evaluate`) and of pipeline
evaluations (`pipeline-evaluate`); each names its own run, so a table is a pure function of the files given.
As for the cell-level tables, the CSV carries both the population and the sample std (the paper does not say
which it reports, docs/metrics.md#aggregation) and the Markdown shows the sample std.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..classify.table import (
    SHORT_SETTINGS,
    SUMMARY_COLUMNS,
    format_cell,
    index_paper,
    summarise,
    summary_columns,
)
from ..data.channels import SETTINGS
from ..detect.recipes import DETECTOR_TITLES, DETECTORS
from ..errors import DatasetError
from ..io import read_json_input
from ..plan.runs import omega_name
from ..plan.trainsets import trainset as training_set

DETECTION = "detection"
METRIC_KEYS = {"ap50": ("ap50",), "f1": ("best_f1",), "f1_heldout": ("heldout", "f1")}  # -> keys in metrics.json
METRIC_TITLES = {"ap50": "AP50", "f1": "F1", "f1_heldout": "F1 (val thr.)"}
COLUMNS = ("table", "detector", "setting", "trainset", "stage", "tested_on", "metric", *SUMMARY_COLUMNS)
ORDINALS = ("1st", "2nd", "3rd")


@dataclass(frozen=True)
class ImageRun:
    """One evaluated run: which detector/classifier pairing, at which stage, and its metrics."""

    detector: str
    setting: str
    trainset: str  # the classifier's training set; the detector's for detection-stage records
    seed: int
    stage: str  # "detection" or omega_name(omega)
    metrics: dict[str, Any]

    def value(self, metric: str, patient: str | None = None) -> float | None:
        value = self.metrics if patient is None else self.metrics.get("per_patient", {}).get(patient, {})
        for key in METRIC_KEYS[metric]:
            value = value.get(key) if isinstance(value, dict) else None
        return value


def table_metrics(runs: list[ImageRun], base: tuple[str, ...]) -> tuple[str, ...]:
    """`base`, plus the F1 at the val-chosen threshold where the records have it (corrected protocol)."""
    held_out = any(run.value("f1_heldout") is not None for run in runs)
    return base + ("f1_heldout",) if held_out else base


def parse_run_name(name: str, path: Path | str) -> tuple[str, str, str, int]:
    """'faster_rcnn/bf/all/seed0' -> its parts."""
    parts = str(name).split("/")
    if len(parts) != 4 or not parts[3].startswith("seed") or not parts[3][4:].isdigit():
        raise DatasetError(f"{path}: run {name!r} is not detector/setting/trainset/seedN; regenerate the metrics")
    return parts[0], parts[1], parts[2], int(parts[3][4:])


def load_image_runs(paths: Iterable[Path | str]) -> list[ImageRun]:
    """Detection-stage records carry `run` (the detector run); pipeline records also `omega` and `pipeline_run`."""
    runs = []
    for path in paths:
        data = read_json_input(path, "metrics", "run its evaluation first (rules detect_evaluate, pipeline_evaluate)")
        if "omega" in data:
            detector, setting, trainset, seed = parse_run_name(data.get("pipeline_run"), path)
            stage = omega_name(float(data["omega"]))
        else:
            detector, setting, trainset, seed = parse_run_name(data.get("run"), path)
            stage = DETECTION
        runs.append(ImageRun(detector, setting, trainset, seed, stage, data))
    return runs


def paper_stage(stage: str) -> str:
    """Our stage name -> the paper CSV's: detection, pipeline_omega1, pipeline_omega0.7."""
    return stage if stage == DETECTION else f"pipeline_{stage}"


def _groups(runs: list[ImageRun]) -> dict[tuple[str, str, str, str], list[ImageRun]]:
    groups: dict[tuple[str, str, str, str], list[ImageRun]] = defaultdict(list)
    for run in runs:
        groups[(run.detector, run.setting, run.trainset, run.stage)].append(run)
    return groups


def _row(table: str, run_key: tuple[str, str, str, str], tested_on: str, metric: str, summary, paper) -> dict:
    detector, setting, trainset, stage = run_key
    return {
        "table": table,
        "detector": detector,
        "setting": setting,
        "trainset": trainset,
        "stage": stage,
        "tested_on": tested_on,
        "metric": metric,
        **summary_columns(summary, paper),
    }


def table4(runs: list[ImageRun], omegas: list[float], paper_rows: list[dict[str, str]]) -> tuple[list[dict], str]:
    """AP50 and F1 per detector x setting for the detection stage and each omega, detectors trained on all."""
    paper = index_paper(paper_rows, "detector", "setting", "stage", "metric")
    groups = _groups(runs)
    stages = [DETECTION] + [omega_name(w) for w in omegas]
    detectors = [d for d in DETECTORS if any(k[0] == d for k in groups)]
    settings = [s for s in SETTINGS if any(k[1] == s for k in groups)]
    metrics = table_metrics(runs, ("ap50", "f1"))
    rows, lines = [], []
    header = " | ".join(f"{SHORT_SETTINGS[s]} {METRIC_TITLES[m]}" for s in settings for m in metrics)
    lines.append(f"| Detector | Stage | {header} |")
    lines.append("|---|---|" + "---|" * (len(metrics) * len(settings)))
    for detector in detectors:
        for stage in stages:
            cells = []
            for setting in settings:
                key = (detector, setting, "all", stage)
                for metric in metrics:
                    summary = summarise([r.value(metric) for r in groups.get(key, [])])
                    ref = paper.get((DETECTOR_TITLES[detector], setting, paper_stage(stage), metric))
                    rows.append(_row("4", key, "all", metric, summary, ref))
                    cells.append(format_cell(summary, ref))
            lines.append(f"| {DETECTOR_TITLES[detector]} | {stage_title(stage)} | " + " | ".join(cells) + " |")
    caption = (
        "Image-level results on test, mean ± sample std over seeds, percent; the paper's in parentheses. "
        "F1 is the best F1 over the test PR curve (an oracle threshold, as the original)"
        + (
            "; F1 (val thr.) is the F1 on test at the threshold chosen on the val images."
            if "f1_heldout" in metrics
            else "."
        )
    )
    return rows, caption + "\n\n" + "\n".join(lines) + "\n"


def stage_title(stage: str) -> str:
    return "Detection stage" if stage == DETECTION else f"Full pipeline (ω = {stage.removeprefix('omega')})"


def strategy_title(trainset: str) -> str:
    """The paper's Table 5 row of a training set."""
    if trainset == "all":
        return "Assign all unknown cells as normal"
    return training_set(trainset).title


def table5(
    runs: list[ImageRun],
    detector: str,
    setting: str,
    strategies: list[str],
    omega: float,
    paper_rows: list[dict[str, str]],
) -> tuple[list[dict], str]:
    """F1 (and our AP50) of each unknown-cell strategy; `all` is the main model, where U counts as not cancer."""
    paper = index_paper(paper_rows, "strategy", "metric")
    groups = _groups(runs)
    stage = omega_name(omega)
    metrics = table_metrics(runs, ("f1", "ap50"))
    rows = []
    lines = [
        "| Strategy | Training set | n | " + " | ".join(METRIC_TITLES[m] for m in metrics) + " |",
        "|---|---|---|" + "---|" * len(metrics),
    ]
    for trainset in [*strategies, "all"]:
        key = (detector, setting, trainset, stage)
        cells, n = [], 0
        for metric in metrics:
            summary = summarise([r.value(metric) for r in groups.get(key, [])])
            ref = paper.get((strategy_title(trainset), metric))
            rows.append(_row("5", key, "all", metric, summary, ref))
            cells.append(format_cell(summary, ref))
            n = summary.n
        lines.append(f"| {strategy_title(trainset)} | `{trainset}` | {n} | " + " | ".join(cells) + " |")
    caption = (
        f"Unknown-cell strategies: {DETECTOR_TITLES[detector]}, {SHORT_SETTINGS[setting]}, full pipeline at "
        f"ω = {omega:g}, test, mean ± sample std over seeds, percent; the paper's in parentheses."
    )
    return rows, caption + "\n\n" + "\n".join(lines) + "\n"


def table6(
    runs: list[ImageRun],
    detector: str,
    setting: str,
    patients: list[str],
    omega: float,
    paper_rows: list[dict[str, str]],
) -> tuple[list[dict], str]:
    """F1 per test patient of the models trained on all patients and on each patient alone."""
    paper = index_paper(paper_rows, "trained_on", "tested_on")
    groups = _groups(runs)
    stage = omega_name(omega)
    ordinal = {p: f"{ORDINALS[i]} patient" if i < len(ORDINALS) else p for i, p in enumerate(patients)}
    rows, blocks = [], []
    for metric in table_metrics(runs, ("f1",)):
        lines = [
            f"| Trained on ({METRIC_TITLES[metric]}) | "
            + " | ".join(f"Test {ordinal[p]} ({p})" for p in patients)
            + " |",
            "|---|" + "---|" * len(patients),
        ]
        for trainset in ["all", *(f"patient-{p}" for p in patients)]:
            key = (detector, setting, trainset, stage)
            trained_on = "All 3 patients" if trainset == "all" else ordinal[trainset.removeprefix("patient-")]
            cells = []
            for patient in patients:
                summary = summarise([r.value(metric, patient) for r in groups.get(key, [])])
                ref = paper.get((trained_on, ordinal[patient])) if metric == "f1" else None
                rows.append(_row("6", key, patient, metric, summary, ref))
                cells.append(format_cell(summary, ref))
            label = "All patients" if trainset == "all" else f"{trained_on} ({trainset.removeprefix('patient-')})"
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    caption = (
        f"Patient generalisation: F1 per test patient, {DETECTOR_TITLES[detector]} + classifier, "
        f"{SHORT_SETTINGS[setting]}, full pipeline at ω = {omega:g}, mean ± sample std over seeds, percent; "
        "the paper's in parentheses (its patients are ordered 1st-3rd; ours are mapped in the configured order)."
    )
    return rows, caption + "\n\n" + "\n\n".join(blocks) + "\n"
