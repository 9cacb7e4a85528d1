"""From work and FLOPs to GPU-hours: the rows of compute.csv (docs/experiments.md#compute-projection).

GPU-hours = FLOPs / (peak_tflops x 10^12 x efficiency) / 3600, with the peak and each stage's efficiency (its share of
the peak actually sustained, model-FLOPs utilisation) from `compute:` in the config. Rows sum the work of one model
in one task of one stage over its runs and channel counts; TFLOPs per step is then their mean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .networks import StepFlops
from .workload import CLASSIFIERS, STAGES, Work

COLUMNS = (
    "stage",
    "model",
    "task",
    "unit",
    "runs",
    "steps",
    "tflops_per_step",
    "pflops",
    "efficiency",
    "gpu_hours",
    "gpu_hours_per_run",
    "paper_train_hours_rtx3090",
    "paper_tflops_sustained",
    "estimate",
)
TOTAL = "total"


@dataclass(frozen=True)
class Assumptions:
    peak_tflops: float  # the GPU's dense peak, TFLOP/s
    efficiency: dict[str, float]  # stage -> share of the peak sustained
    target_gpu_hours: float

    @classmethod
    def of_config(cls, config: dict[str, Any]) -> Assumptions:
        compute = config["compute"]
        efficiency = {stage: float(compute["efficiency"][stage]) for stage in STAGES}
        return cls(float(compute["peak_tflops"]), efficiency, float(compute["target_gpu_hours"]))


def gpu_hours(flops: float, peak_tflops: float, efficiency: float) -> float:
    """Hours of one GPU sustaining `efficiency` x its peak of `peak_tflops` TFLOP/s."""
    return flops / (peak_tflops * 1e12 * efficiency) / 3600


def count_all(works: Iterable[Work], counter: Callable[[Any], StepFlops]) -> dict[Any, StepFlops]:
    """FLOPs of every distinct network, each counted once."""
    counted: dict[Any, StepFlops] = {}
    for work in works:
        if work.network not in counted:
            counted[work.network] = counter(work.network)
    return counted


def analytic_pflops(works: Iterable[Work], flops: dict[Any, StepFlops]) -> float:
    """The part of the total estimated analytically for mmcv kernels (mmcv_ops)."""
    return sum(w.steps * flops[w.network].analytic(w.mode) for w in works) / 1e15


def rows(
    works: list[Work], flops: dict[Any, StepFlops], assumptions: Assumptions, paper_hours: dict[str, float]
) -> list[dict[str, Any]]:
    """One row per stage, model and task, in the order of the stages and then of the plan, and the total."""
    groups: dict[tuple[str, str, str], list[Work]] = {}
    for work in sorted(works, key=lambda w: STAGES.index(w.stage)):
        groups.setdefault((work.stage, work.model, work.task), []).append(work)
    table = [_row(key, group, flops, assumptions, paper_hours) for key, group in groups.items()]
    return [*table, total_row(table)]


def _row(
    key: tuple[str, str, str],
    group: list[Work],
    flops: dict[Any, StepFlops],
    assumptions: Assumptions,
    paper_hours: dict[str, float],
) -> dict[str, Any]:
    stage, model, task = key
    steps = sum(w.steps for w in group)
    total = sum(w.steps * flops[w.network].of(w.mode) for w in group)
    runs = sum(w.runs for w in group)
    efficiency = assumptions.efficiency[stage]
    hours = gpu_hours(total, assumptions.peak_tflops, efficiency)
    units = sorted({w.network.unit(w.mode) for w in group})
    paper = paper_hours.get(model) if stage == CLASSIFIERS and task == "train" else None
    # What the paper's runs sustained if they did this arithmetic in their reported time.
    sustained = total / runs / (paper * 3600) / 1e12 if paper and runs else None
    return {
        "stage": stage,
        "model": model,
        "task": task,
        "unit": "; ".join(units),
        "runs": runs,
        "steps": steps,
        "tflops_per_step": total / steps / 1e12 if steps else 0.0,
        "pflops": total / 1e15,
        "efficiency": efficiency,
        "gpu_hours": hours,
        "gpu_hours_per_run": hours / runs if runs else None,
        "paper_train_hours_rtx3090": paper,
        "paper_tflops_sustained": sustained,
        "estimate": "; ".join(sorted({w.estimate for w in group if w.estimate})),
    }


def total_row(table: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "stage": TOTAL,
        "pflops": sum(row["pflops"] for row in table),
        "gpu_hours": sum(row["gpu_hours"] for row in table),
    }


def stage_totals(table: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """PFLOPs and GPU-hours of each stage (the total row left out)."""
    totals = {stage: {"pflops": 0.0, "gpu_hours": 0.0} for stage in STAGES}
    for row in table:
        if row["stage"] in totals:
            totals[row["stage"]]["pflops"] += row["pflops"]
            totals[row["stage"]]["gpu_hours"] += row["gpu_hours"]
    return totals
