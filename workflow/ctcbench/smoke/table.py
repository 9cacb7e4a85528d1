"""The smoke table: one row per planned training run, from what the run and Snakemake left behind.

* run.json (ctcbench.run_record): steps, the median time of a step (compute.step_seconds), wall time, peak memory
  (ru_maxrss of the training process: over all sessions for a classifier, of the completing attempt for a
  detector), and whether it resumed: a classifier's `sessions`, a detector's `resumed_from_epoch` (the attempt a
  kill ended is not in the record; the checkpoint it left is);
* the benchmark files: the training job's wall time and sampled peak memory (its last attempt), and the time of the
  detector's prediction on the test images;
* the kill ledger: whether the driver killed it, and how long after its process started;
* metrics.json: whether evaluation produced the run's metrics (classifiers on the val crops; detectors after
  predicting the test images), and for a detector how many of its pipeline evaluations exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..benchmarks import read_benchmark
from ..errors import DatasetError
from ..io import atomic_write_text
from ..plan import ClassifierRun, DetectorRun, Plan
from ..run_record import read_run_record
from ..tables import markdown_table, write_csv

COLUMNS = ("stage", "model", "setting", "trainset", "seed", "status", "steps", "s_per_step", "wall_s", "job_s",
           "peak_rss_mb", "job_peak_rss_mb", "gpu_peak_mb", "killed", "killed_after_s", "resumed", "sessions",
           "resumed_from_epoch", "metrics", "predict_s", "pipeline_done", "pipeline_planned")  # fmt: skip
OK = "ok"


@dataclass(frozen=True)
class Where:
    """A results tree: the workflow's directory and the results folder in it (results/{preset})."""

    directory: Path
    results: str

    def of(self, relative: str) -> Path:
        return self.directory / relative


def _benchmark_of(where: Where, run: ClassifierRun | DetectorRun, rule: str) -> tuple[float | None, float | None]:
    """(wall seconds, sampled peak MiB) of one of the run's jobs; (None, None) where it has not run."""
    path = where.of(run.benchmarks(where.results)) / f"{rule}.tsv"
    if not path.is_file():
        return None, None
    benchmark = read_benchmark(path)
    return benchmark.wall_s, benchmark.peak_rss_mb


def _record_of(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "run.json"
    if not path.is_file():
        return None
    try:
        return read_run_record(path)
    except DatasetError:
        return None  # an older record: as if the run had not been trained


def _resume_facts(stage: str, record: dict[str, Any]) -> dict[str, Any]:
    compute = record["compute"]
    if stage == "classify":
        return {"steps": record["training"]["steps"], "sessions": compute["sessions"],
                "resumed": compute["sessions"] > 1}  # fmt: skip
    epochs = [a.get("resumed_from_epoch") for a in compute.get("attempts", [])]
    resumed_from = max((e for e in epochs if e), default=None)
    return {"steps": record["training"]["iterations"], "resumed_from_epoch": resumed_from,
            "resumed": resumed_from is not None}  # fmt: skip


def _status(row: dict[str, Any], kills: bool) -> str:
    """`ok`, or what is missing: the proof needs a record, metrics and, with kills, a kill followed by a resume."""
    if row["steps"] is None:
        return "not trained"
    if not row["metrics"]:
        return "not evaluated"
    if kills and not row["killed"]:
        return "not killed: it ended before its first resume state was seen"
    if kills and not row["resumed"]:
        return "killed, but trained again from the start"
    return OK


def run_row(where: Where, run: ClassifierRun | DetectorRun, kill: dict | None, kills: bool) -> dict[str, Any]:
    stage = run.STAGE
    run_dir = where.of(run.path(where.results))
    record = _record_of(run_dir)
    job_s, job_peak = _benchmark_of(where, run, "train")
    row: dict[str, Any] = {
        "stage": stage, "model": getattr(run, run.FIELDS[0]),  # the backbone or the detector
        "setting": run.setting, "trainset": run.trainset, "seed": run.seed, "steps": None, "resumed": False,
        "job_s": job_s, "job_peak_rss_mb": job_peak, "killed": kill is not None,
        "killed_after_s": kill["killed_after_s"] if kill else None, "metrics": (run_dir / "metrics.json").is_file(),
    }  # fmt: skip
    if stage == "detect":
        row["predict_s"] = _benchmark_of(where, run, "predict")[0]
    if record is not None:
        compute = record["compute"]
        peak = compute.get("peak_memory") or {}
        row.update(_resume_facts(stage, record))
        row.update(
            s_per_step=(compute.get("step_seconds") or {}).get("median"),
            wall_s=compute.get("wall_time_s"),
            peak_rss_mb=peak.get("cpu_rss"),
            gpu_peak_mb=peak.get("gpu_allocated"),
        )
    row["status"] = _status(row, kills)
    return row


def _pipeline_progress(plan: Plan, where: Where, run: DetectorRun) -> dict[str, int]:
    """How many of the evaluations of the detector run's pairings exist, of those planned."""
    evaluations = [e for e in plan.evaluations if e.pairing.detector_run == run]
    done = sum(where.of(e.path(where.results)).is_file() for e in evaluations)
    return {"pipeline_done": done, "pipeline_planned": len(evaluations)}


def smoke_rows(plan: Plan, where: Where, kills: dict[str, dict] | None) -> list[dict[str, Any]]:
    """A row per planned classifier and detector run of the grid's trainers (`kills`: the ledger's entries, None when
    nothing was killed on purpose); the brightfield-only track's runs, trained and evaluated in one job without a
    resume state, are not among them."""
    rows = []
    classifiers = [run for run in plan.classifiers if run.training_set.kind.trains_in_grid]
    for run in [*classifiers, *plan.detectors]:
        row = run_row(where, run, (kills or {}).get(run.path(where.results)), kills is not None)
        if isinstance(run, DetectorRun):
            row.update(_pipeline_progress(plan, where, run))
        rows.append(row)
    return rows


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if not math.isnan(value) else ""
    return value


def write_table(rows: list[dict[str, Any]], csv_path: Path, md_path: Path, title: str) -> None:
    write_csv(csv_path, [{k: _csv_value(v) for k, v in row.items()} for row in rows], COLUMNS)
    atomic_write_text(md_path, markdown(rows, title))


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s" if value < 600 else f"{value / 60:.1f} min"


def _memory(value: float | None) -> str:
    return "–" if value is None else f"{value / 1024:.1f} GiB" if value >= 1024 else f"{value:.0f} MiB"


def _resumed(row: dict[str, Any]) -> str:
    if not row["resumed"]:
        return "no"
    return f"yes ({row['sessions']} sessions)" if row["stage"] == "classify" else f"epoch {row['resumed_from_epoch']}"


def markdown(rows: list[dict[str, Any]], title: str) -> str:
    table = [
        [f"{r['stage']} {r['model']}/{r['setting']}/{r['trainset']}/seed{r['seed']}", str(r["steps"] or "–"),
         _seconds(r.get("s_per_step")), _seconds(r.get("wall_s")), _memory(r.get("peak_rss_mb")),
         "yes" if r["killed"] else "no", _resumed(r), "yes" if r["metrics"] else "no",
         f"{r['pipeline_done']}/{r['pipeline_planned']}" if "pipeline_planned" in r else "", r["status"]]
        for r in rows
    ]  # fmt: skip
    passed = sum(r["status"] == OK for r in rows)
    lines = [
        f"# {title}",
        "",
        f"{passed} of {len(rows)} training runs passed: trained, "
        + ("killed after their first resume state, resumed, " if any(r["killed"] for r in rows) else "")
        + "and evaluated. s/step is the median time of a training step (its batch, forward, backward and update); "
        "wall is the run's training time over its sessions (a detector: over the attempts that completed); peak "
        "memory is the training process's largest resident set. Pipeline: evaluations of the detector's "
        "pairings that exist, of those planned.",
        "",
        *markdown_table(
            ["Run", "Steps", "s/step", "Wall", "Peak memory", "Killed", "Resumed", "Metrics", "Pipeline", "Status"],
            table,
        ),
    ]
    return "\n".join(lines) + "\n"
