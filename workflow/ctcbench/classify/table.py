"""Cell-level result tables: Table 2 (F1/P/R/AUROC per setting) and Table 3 (F1/AUROC per backbone x setting).

Ours are mean ± std over seeds in percent. The paper does not say whether its ± is the population or the sample
std (docs/metrics.md#aggregation), so the CSV carries both (ddof 0 and 1); the Markdown shows the sample std. The
published value sits beside each of ours, matched by setting (Table 2, whose runs are ConvNeXt-B) and by the
backbone's paper label from the config (Table 3).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.channels import SETTING_TITLES, SETTINGS
from ..errors import DatasetError
from ..io import read_json_input

TABLE2_METRICS = ("f1", "precision", "recall", "auroc")
TABLE3_METRICS = ("f1", "auroc")
METRIC_TITLES = {"f1": "F1", "precision": "Precision", "recall": "Recall", "auroc": "AUROC", "accuracy": "Accuracy"}
SHORT_SETTINGS = {"bf": "BF", "bf_hoechst": "BF+H", "bf_fluo": "BF+FL"}
# The numeric columns of a table cell (`summary_columns`), after the columns that say which cell it is.
SUMMARY_COLUMNS = ("n_runs", "mean", "std_ddof0", "std_ddof1", "paper_mean", "paper_std", "delta")
LONG_COLUMNS = ("table", "backbone", "paper_label", "setting", "trainset", "metric", *SUMMARY_COLUMNS)
RUN_COLUMNS = (
    "backbone",
    "setting",
    "trainset",
    "seed",
    "protocol",
    "checkpoint",
    "checkpoint_step",
    "f1",
    "precision",
    "recall",
    "threshold",
    "auroc",
    "accuracy",
    "oracle_f1",
)


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std0: float
    std1: float


def summarise(values: list[float]) -> Summary:
    """Mean and both standard deviations in percent; NaN where undefined (no runs, or one run for ddof 1)."""
    data = np.asarray([v for v in values if v is not None], np.float64) * 100
    if len(data) == 0:
        return Summary(0, math.nan, math.nan, math.nan)
    std1 = float(np.std(data, ddof=1)) if len(data) > 1 else math.nan
    return Summary(len(data), float(np.mean(data)), float(np.std(data, ddof=0)), std1)


def load_runs(paths: list[Path]) -> list[dict[str, Any]]:
    return [read_json_input(path, "metrics", "evaluate the run first (`ctcbench classify-eval`)") for path in paths]


def read_paper_rows(path: Path | str | None) -> list[dict[str, str]]:
    """The rows of a published table's CSV under resources/paper/ (none when no path is given)."""
    if path is None:
        return []
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: paper table missing; it is committed under resources/paper/")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def index_paper(rows: list[dict[str, str]], *columns: str) -> dict[tuple[str, ...], tuple[float, float]]:
    """(values of `columns`) -> (mean, std) of published rows."""
    return {tuple(row[c] for c in columns): (float(row["mean"]), float(row["std"])) for row in rows}


def read_paper(path: Path | str | None) -> dict[tuple[str, ...], tuple[float, float]]:
    """(setting, backbone column, metric) -> (mean, std) of a paper table CSV."""
    return index_paper(read_paper_rows(path), "setting", "backbone", "metric")


def _group(runs: list[dict[str, Any]], trainset: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        identity = run["run"]
        if identity["trainset"] == trainset:
            groups[(identity["backbone"], identity["setting"])].append(run)
    return groups


def format_mean_std(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "–"
    return f"{mean:.1f} ± {std:.1f}" if not math.isnan(std) else f"{mean:.1f} ± –"


def format_cell(summary: Summary, paper: tuple[float, float] | None) -> str:
    ours = format_mean_std(summary.mean, summary.std1)
    return f"{ours} ({format_mean_std(*paper)})" if paper else ours


def summary_columns(summary: Summary, paper: tuple[float, float] | None) -> dict[str, Any]:
    """The numeric CSV columns of one table cell: ours (both stds), the paper's, and the difference."""

    def num(value: float) -> str:
        return "" if math.isnan(value) else f"{value:.6f}"

    return {
        "n_runs": summary.n,
        "mean": num(summary.mean),
        "std_ddof0": num(summary.std0),
        "std_ddof1": num(summary.std1),
        "paper_mean": "" if paper is None else paper[0],
        "paper_std": "" if paper is None else paper[1],
        "delta": "" if paper is None or math.isnan(summary.mean) else f"{summary.mean - paper[0]:.6f}",
    }


def _row(
    table: str,
    backbone: str,
    label: str,
    setting: str,
    trainset: str,
    metric: str,
    summary: Summary,
    paper: tuple[float, float] | None,
) -> dict[str, Any]:
    return {
        "table": table,
        "backbone": backbone,
        "paper_label": label,
        "setting": setting,
        "trainset": trainset,
        "metric": metric,
        **summary_columns(summary, paper),
    }


def _settings_in(groups: dict[tuple[str, str], list]) -> list[str]:
    present = {setting for _, setting in groups}
    return [s for s in SETTINGS if s in present]


def table2(
    runs: list[dict[str, Any]], backbone: str, label: str, paper: dict, trainset: str = "all"
) -> tuple[list[dict[str, Any]], str]:
    groups = _group(runs, trainset)
    rows, lines = [], []
    lines.append(
        f"Cell-level results on val, {label} (`{backbone}`), mean ± sample std over seeds, percent; "
        "paper (ConvNeXt-B) in parentheses.\n"
    )
    lines.append("| Setting | n | " + " | ".join(METRIC_TITLES[m] for m in TABLE2_METRICS) + " |")
    lines.append("|---|---|" + "---|" * len(TABLE2_METRICS))
    for setting in _settings_in({k: v for k, v in groups.items() if k[0] == backbone}):
        members = groups[(backbone, setting)]
        cells = []
        for metric in TABLE2_METRICS:
            summary = summarise([run.get(metric) for run in members])
            ref = next((v for (s, _, m), v in paper.items() if s == setting and m == metric), None)
            rows.append(_row("2", backbone, label, setting, trainset, metric, summary, ref))
            cells.append(format_cell(summary, ref))
        lines.append(f"| {SETTING_TITLES[setting]} | {len(members)} | " + " | ".join(cells) + " |")
    return rows, "\n".join(lines) + "\n"


def table3(
    runs: list[dict[str, Any]], backbones: list[str], labels: dict[str, str], paper: dict, trainset: str = "all"
) -> tuple[list[dict[str, Any]], str]:
    groups = _group(runs, trainset)
    settings = _settings_in(groups)
    rows = []
    header = ["Backbone", "n"] + [f"{SHORT_SETTINGS[s]} {METRIC_TITLES[m]}" for s in settings for m in TABLE3_METRICS]
    lines = [
        "Cell-level F1 and AUROC on val per backbone, mean ± sample std over seeds, percent; paper in parentheses.\n",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for backbone in backbones:
        label = labels.get(backbone, backbone)
        cells, counts = [], []
        for setting in settings:
            members = groups.get((backbone, setting), [])
            counts.append(len(members))
            for metric in TABLE3_METRICS:
                summary = summarise([run.get(metric) for run in members])
                ref = paper.get((setting, label, metric))
                rows.append(_row("3", backbone, label, setting, trainset, metric, summary, ref))
                cells.append(format_cell(summary, ref))
        lines.append(f"| {label} | {min(counts) if counts else 0} | " + " | ".join(cells) + " |")
    return rows, "\n".join(lines) + "\n"


def run_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run, every headline number as a fraction: the input of figures and later tables."""
    rows = []
    for run in runs:
        rows.append(
            {
                **{k: run["run"][k] for k in ("backbone", "setting", "trainset", "seed")},
                "protocol": run.get("protocol"),
                "checkpoint": run.get("checkpoint"),
                "checkpoint_step": run.get("checkpoint_step"),
                **{k: run.get(k) for k in ("f1", "precision", "recall", "threshold", "auroc", "accuracy")},
                "oracle_f1": run.get("oracle", {}).get("f1"),
            }
        )
    order = {s: i for i, s in enumerate(SETTINGS)}
    return sorted(rows, key=lambda r: (r["backbone"], r["trainset"], order.get(r["setting"], 9), r["seed"]))
