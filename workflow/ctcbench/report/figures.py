"""Fig. 7 (row-normalised R/G/U confusion matrices) and Fig. 11 (AUROC and F1 against the training fraction).

Both are views of the long results table (report.results; docs/metrics.md#cell-level,
docs/protocol.md#training-fractions). The
paper does not say which run Fig. 7 shows, so we plot the mean over seeds of each run's row-normalised matrix and say
so. Fig. 11 plots the mean over seeds with the sample std (ddof 1) as error bars; the CSV carries both stds, as the
tables do.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..data.channels import SETTING_TITLES, SHORT_SETTINGS
from ..data.layout import CLASSES
from ..errors import DatasetError
from ..plan.trainsets import BY_KIND
from ..tables import METRIC_TITLES, summarise
from .common import add_caption, missing_input, panel_title
from .results import ALL, CELL, Results
from .table_specs import TABLES

FIG7_COLUMNS = ("backbone", "trainset", "setting", "n_runs", "seeds", "true_class", "predicted_class", "percent", "std")
FIG11_COLUMNS = (
    "backbone",
    "setting",
    "trainset",
    "fraction",
    "metric",
    "n_runs",
    "seeds",
    "mean",
    "std_ddof0",
    "std_ddof1",
    "paper_mean",
    "paper_std",
)
FIG11_METRICS = ("auroc", "f1")
# The paper prints no number of Fig. 11's curves; their 100 % end is its Table 2 (the same model, all training crops,
# on val), so that end is the published point drawn beside ours.
FIG11_PAPER_FILE = TABLES["table2_cell_level"].paper_file
PaperPoints = dict[tuple[str, str], tuple[float, float]]  # (setting, metric) -> published (mean, std), percent
FRACTION_KIND = "fraction"  # plan.trainsets: the training fractions of Fig. 11
FRACTION_NAMES = f"{BY_KIND[FRACTION_KIND].prefix}<value>"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfusionPanel:
    setting: str
    seeds: tuple[int, ...]
    mean: np.ndarray  # 3 x 3 percent, rows = true class, columns = predicted, order R, G, U
    std: np.ndarray  # population std over seeds (0 for one seed)


def confusion_panels(
    results: Results, backbone: str, settings: tuple[str, ...], trainset: str = "all"
) -> list[ConfusionPanel]:
    """Mean over seeds of each setting's row-normalised confusion matrix, in the order of `settings`."""
    run = {"stage": CELL, "backbone": backbone, "trainset": trainset, "subset": ALL}
    missing = [s for s in settings if not results.select(**run, setting=s)]
    if missing:
        raise missing_input("Fig. 7", "metrics.json", backbone, missing, trainset, "metrics.json")
    panels = []
    for setting in settings:
        seeds = sorted({row.seed for row in results.select(**run, setting=setting)})
        stack = np.asarray(
            [
                [[confusion_value(results, run, setting, seed, true, predicted) for predicted in CLASSES]
                 for true in CLASSES]
                for seed in seeds
            ],
            np.float64,
        )  # fmt: skip
        panels.append(ConfusionPanel(setting, tuple(seeds), stack.mean(axis=0), stack.std(axis=0)))
    return panels


def confusion_value(results: Results, run: dict, setting: str, seed: int, true: str, predicted: str) -> float:
    """One run's percent of `true` crops predicted as `predicted` (its row-normalised confusion matrix)."""
    metric = f"confusion_percent_{true}_{predicted}"
    values = results.values(**run, setting=setting, seed=seed, metric=metric)
    if len(values) != 1 or values[0] is None:
        raise DatasetError(
            f"run {run['backbone']}/{setting}/{run['trainset']}/seed{seed}: no {metric}; evaluate it again"
        )
    return values[0]


def confusion_rows(panels: list[ConfusionPanel], backbone: str, trainset: str = "all") -> list[dict[str, Any]]:
    rows = []
    for panel in panels:
        for i, true in enumerate(CLASSES):
            for j, predicted in enumerate(CLASSES):
                rows.append(
                    {
                        "backbone": backbone,
                        "trainset": trainset,
                        "setting": panel.setting,
                        "n_runs": len(panel.seeds),
                        "seeds": " ".join(map(str, panel.seeds)),
                        "true_class": true,
                        "predicted_class": predicted,
                        "percent": f"{panel.mean[i, j]:.6f}",
                        "std": f"{panel.std[i, j]:.6f}",
                    }
                )
    return rows


def confusion_figure(panels: list[ConfusionPanel], backbone: str) -> Figure:
    figure = Figure(figsize=(4.0 * len(panels), 4.8), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for index, (ax, panel) in enumerate(zip(axes, panels)):
        ax.imshow(panel.mean, cmap="Blues", vmin=0, vmax=100)
        for i in range(len(CLASSES)):
            for j in range(len(CLASSES)):
                value = panel.mean[i, j]
                ax.text(j, i, f"{value:.1f}", ha="center", va="center", color="white" if value > 50 else "black")
        ax.set_xticks(range(len(CLASSES)), CLASSES)
        ax.set_yticks(range(len(CLASSES)), CLASSES)
        ax.set_xlabel("Predicted class")
        ax.set_ylabel("True class")
        ax.set_title(f"{panel_title(index, panel.setting)} (n = {len(panel.seeds)})")
    seeds = sorted({s for p in panels for s in p.seeds})
    seed_list = ", ".join(map(str, seeds))
    figure.suptitle(f"Fig. 7: row-normalised confusion (%), {backbone}, mean over seed(s) {seed_list} per setting")
    add_caption(
        figure,
        "Each panel is the mean over seeds of the runs' row-normalised 3-class argmax confusion matrices on the "
        "val crops (rows sum to 100 %). The paper does not say which run its Fig. 7 shows.",
    )
    return figure


def paper_points(paper_rows: list[dict[str, str]], backbone: str) -> PaperPoints:
    """The published 100 % points of Fig. 11's curves for `backbone`: Table 2's AUROC and F1 where the paper's
    Table 2 is that backbone's, none otherwise."""
    return {
        (row["setting"], row["metric"]): (float(row["mean"]), float(row["std"]))
        for row in paper_rows
        if row["backbone"] == backbone and row["metric"] in FIG11_METRICS
    }


def fraction_rows(
    results: Results, backbone: str, settings: tuple[str, ...], paper: PaperPoints | None = None
) -> list[dict[str, Any]]:
    """Mean and both stds (percent) of AUROC and F1 per setting and fraction; 1.0 is the `all` runs, if given, with
    the published value beside it where `paper` has one."""
    paper = paper or {}
    groups: dict[tuple[str, float, str], list[int]] = defaultdict(list)
    for row in results.select(stage=CELL, backbone=backbone, subset=ALL, metric=FIG11_METRICS[0]):
        kind = row.trainset_kind
        if row.setting in settings and kind in (FRACTION_KIND, "all"):
            fraction = float(row.trainset_value) if kind == FRACTION_KIND else 1.0
            groups[(row.setting, fraction, row.trainset)].append(row.seed)
    missing = [s for s in settings if not any(k[0] == s and k[1] < 1.0 for k in groups)]
    if missing:
        raise missing_input("Fig. 11", "metrics.json", backbone, missing, FRACTION_NAMES, "metrics.json")
    for setting in settings:
        if (setting, 1.0, "all") not in groups:
            log.warning("Fig. 11: no `all` run of %s/%s given; its curve has no 100 %% point", backbone, setting)
    rows = []
    for setting in settings:
        for (group_setting, fraction, trainset), seeds in sorted(groups.items(), key=lambda kv: kv[0][1]):
            if group_setting != setting:
                continue
            where = {"stage": CELL, "backbone": backbone, "setting": setting, "trainset": trainset, "subset": ALL}
            for metric in FIG11_METRICS:
                summary = summarise(results.values(**where, metric=metric))
                rows.append(
                    {
                        "backbone": backbone,
                        "setting": setting,
                        "trainset": trainset,
                        "fraction": fraction,
                        "metric": metric,
                        "n_runs": summary.n,
                        "seeds": " ".join(str(seed) for seed in sorted(seeds)),
                        **{
                            key: "" if math.isnan(value) else f"{value:.6f}"
                            for key, value in (
                                ("mean", summary.mean),
                                ("std_ddof0", summary.std0),
                                ("std_ddof1", summary.std1),
                            )
                        },
                        **published_columns(paper.get((setting, metric)) if fraction == 1.0 else None),
                    }
                )
    return rows


def published_columns(point: tuple[float, float] | None) -> dict[str, Any]:
    return {"paper_mean": "" if point is None else point[0], "paper_std": "" if point is None else point[1]}


def fractions_figure(rows: list[dict[str, Any]], backbone: str) -> Figure:
    figure = Figure(figsize=(10.0, 4.2), layout="constrained")
    axes = figure.subplots(1, len(FIG11_METRICS), squeeze=False)[0]
    settings = list(dict.fromkeys(row["setting"] for row in rows))
    fractions = sorted({row["fraction"] for row in rows})
    for index, (ax, metric) in enumerate(zip(axes, FIG11_METRICS)):
        for setting in settings:
            points = [r for r in rows if r["setting"] == setting and r["metric"] == metric and r["mean"] != ""]
            x = [r["fraction"] for r in points]
            y = [float(r["mean"]) for r in points]
            err = [float(r["std_ddof1"]) if r["std_ddof1"] != "" else 0.0 for r in points]
            drawn = ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=SETTING_TITLES.get(setting, setting))
            published = [r for r in points if r.get("paper_mean", "") != ""]
            ax.errorbar(
                [r["fraction"] for r in published],
                [float(r["paper_mean"]) for r in published],
                yerr=[float(r["paper_std"]) for r in published],
                marker="D", markerfacecolor="none", linestyle="none", capsize=3, color=drawn.lines[0].get_color(),
                label=f"{SETTING_TITLES.get(setting, setting)}, paper (Table 2)" if published else None,
            )  # fmt: skip
        ax.set_xscale("log")
        ax.set_xticks(fractions, [f"{100 * f:g}%" for f in fractions])
        ax.minorticks_off()
        ax.set_xlabel("Fraction of the training set")
        ax.set_ylabel(f"{METRIC_TITLES[metric]} (%)")
        ax.set_title(f"({'ab'[index]}) {METRIC_TITLES[metric]}")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"Fig. 11: cell-level AUROC and F1 against training fraction, {backbone}")
    short = ", ".join(SHORT_SETTINGS.get(s, s) for s in settings)
    add_caption(
        figure,
        f"Mean over seeds on the val crops ({short}); error bars: sample std over seeds (none for one seed). "
        "100 % is the runs on the full training set, when given. Hollow diamonds: the paper's values at 100 % (its "
        "Table 2), where the curves' backbone is the paper's; the paper prints no number for its other points.",
    )
    return figure
