"""compute.csv and compute.md: the projection's rows, and a page with its assumptions, the total per stage, whether
the total meets `compute.target_gpu_hours`, and the rows of each stage (docs/experiments.md#compute-projection)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..io import atomic_write_text
from ..tables import write_csv
from .projection import COLUMNS, TOTAL, Assumptions, gpu_hours, stage_totals
from .workload import CLASSIFIERS, DETECTORS, INFERENCE, STAGES


@dataclass(frozen=True)
class Context:
    """What the page says about where the numbers come from."""

    title: str  # the preset and protocol
    gpu: str
    counts: str  # the Table 1 read, and what in it is estimated
    analytic_pflops: float  # the part estimated for mmcv kernels (mmcv_ops)


def write_report(csv_path: Path | str, md_path: Path | str, table: list[dict[str, Any]], assumptions: Assumptions,
                 context: Context) -> None:  # fmt: skip
    """Both files, each written atomically, the page rendered before either is touched."""
    page = markdown(table, assumptions, context)
    write_csv(csv_path, (_csv_row(row) for row in table), COLUMNS)
    atomic_write_text(md_path, page)


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    rounded = dict(row)
    for key in ("tflops_per_step", "pflops", "gpu_hours", "gpu_hours_per_run", "paper_tflops_sustained"):
        if rounded.get(key) is not None:
            rounded[key] = f"{rounded[key]:.6g}"
    return rounded


def markdown(table: list[dict[str, Any]], assumptions: Assumptions, context: Context) -> str:
    total = next(row for row in table if row["stage"] == TOTAL)
    lines = [
        f"# Compute projection: {context.title}",
        "",
        *_assumptions(assumptions, context, total),
        "",
        "## Total per stage",
        "",
        *_stage_table(table, total),
        "",
        *_verdict(table, assumptions, context, total),
        "",
        "## Classifier training",
        "",
        *_classifier_table(table),
        "",
        "## Detector training",
        "",
        *_detector_table(table),
        "",
        "## Inference",
        "",
        *_inference_table(table),
    ]
    return "\n".join(lines) + "\n"


def _assumptions(assumptions: Assumptions, context: Context, total: dict[str, Any]) -> list[str]:
    efficiency = ", ".join(f"{stage} {assumptions.efficiency[stage]:g}" for stage in STAGES)
    share = context.analytic_pflops / total["pflops"] if total["pflops"] else 0.0
    return [
        f"GPU-hours on one {context.gpu} at a share of its {assumptions.peak_tflops:g} TFLOP/s peak (efficiency: "
        f"{efficiency}). FLOPs of one training step (forward and backward) and of one inference item, counted by "
        "torch's FlopCounterMode on each network at its real size (2 FLOPs per multiply-add; matrix products, "
        "convolutions and attention; elementwise work not counted), times the steps and items of every planned run. "
        f"mmcv's deformable attention and RoIAlign are estimated analytically ({context.analytic_pflops:.3g} "
        f"PFLOPs, {share:.2%} of the total); NMS is left out. Dataset size: {context.counts}.",
    ]


def _stage_table(table: list[dict[str, Any]], total: dict[str, Any]) -> list[str]:
    lines = ["| stage | PFLOPs | GPU-hours | share of hours |", "|---|---:|---:|---:|"]
    for stage, sums in stage_totals(table).items():
        share = sums["gpu_hours"] / total["gpu_hours"] if total["gpu_hours"] else 0.0
        lines.append(f"| {stage} | {_num(sums['pflops'])} | {_num(sums['gpu_hours'])} | {share:.0%} |")
    lines.append(f"| **total** | **{_num(total['pflops'])}** | **{_num(total['gpu_hours'])}** | 100% |")
    return lines


def _verdict(
    table: list[dict[str, Any]], assumptions: Assumptions, context: Context, total: dict[str, Any]
) -> list[str]:
    hours, target = total["gpu_hours"], assumptions.target_gpu_hours
    met = "meets" if hours <= target else "does not meet"
    lines = [f"**Projected total: {_num(hours)} {context.gpu} GPU-hours; it {met} the target of {target:g}.**"]
    if hours > target:
        flops = total["pflops"] * 1e15
        at_peak = gpu_hours(flops, assumptions.peak_tflops, 1.0)
        needed = flops / (assumptions.peak_tflops * 1e12 * target * 3600)
        largest = sorted((r for r in table if r["stage"] != TOTAL), key=lambda r: -r["gpu_hours"])[:5]
        named = ", ".join(f"{r['model']} {r['task']} ({_num(r['gpu_hours'])} h)" for r in largest)
        lines += [
            "",
            f"At 100% of the peak the grid takes {_num(at_peak)} GPU-hours; meeting the target needs an average "
            f"efficiency of {needed:.2f}. The largest rows: {named}.",
        ]
    return lines


def _num(value: Any) -> str:
    """Three significant digits below 100, whole numbers with thousands separators above."""
    if value is None or value == "":
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _rows_of(table: list[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
    return [row for row in table if row["stage"] == stage]


def _classifier_table(table: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| backbone | runs | steps | TFLOPs per step | PFLOPs | GPU-hours | GPU-hours per run | paper: hours per run "
        "(RTX 3090) | paper: TFLOP/s sustained |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in _rows_of(table, CLASSIFIERS):
        lines.append(
            f"| {row['model']} | {row['runs']} | {row['steps']:,} | {_num(row['tflops_per_step'])} | "
            f"{_num(row['pflops'])} | {_num(row['gpu_hours'])} | {_num(row['gpu_hours_per_run'])} | "
            f"{_num(row['paper_train_hours_rtx3090'])} | {_num(row['paper_tflops_sustained'])} |"
        )
    return lines


def _detector_table(table: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| detector | runs | steps | TFLOPs per step | PFLOPs | GPU-hours | GPU-hours per run | estimate |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in _rows_of(table, DETECTORS):
        lines.append(
            f"| {row['model']} | {row['runs']} | {row['steps']:,} | {_num(row['tflops_per_step'])} | "
            f"{_num(row['pflops'])} | {_num(row['gpu_hours'])} | {_num(row['gpu_hours_per_run'])} | "
            f"{row['estimate']} |"
        )
    return lines


def _inference_table(table: list[dict[str, Any]]) -> list[str]:
    """One line per task, summed over its models (compute.csv has them one by one)."""
    tasks: dict[str, list[dict[str, Any]]] = {}
    for row in _rows_of(table, INFERENCE):
        tasks.setdefault(row["task"], []).append(row)
    lines = ["| task | models | runs | items | PFLOPs | GPU-hours | estimate |", "|---|---|---:|---:|---:|---:|---|"]
    for task, group in tasks.items():
        models = [row["model"] for row in group]
        named = ", ".join(models) if len(models) <= 3 else f"{len(models)} backbones"
        estimate = "; ".join(sorted({row["estimate"] for row in group if row["estimate"]}))
        lines.append(
            f"| {task} | {named} | {sum(r['runs'] for r in group)} | {sum(r['steps'] for r in group):,} | "
            f"{_num(sum(r['pflops'] for r in group))} | {_num(sum(r['gpu_hours'] for r in group))} | {estimate} |"
        )
    return lines
