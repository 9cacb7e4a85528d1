"""The run record (run.json): one schema, the same top-level keys, for every training run of every stage.

A classifier run and a detector run both write:

* `format`: `ctcbench.run/1`;
* `stage`: `classify` or `detect`;
* `run`: its name (`convnext_b/bf/all/seed0`) and identity (backbone or detector, setting, training set, seed);
* `protocol`: the protocol's name (ctcbench.protocol);
* `spec`, `spec_sha256`: the run spec it was trained from and its digest (what guards resumption);
* `inputs`: every file it read, each with its path and hash;
* `outputs`: every model file it wrote, with its path and hash;
* `training`: what the training itself found (steps, validation, losses, the network's shape);
* `environment`: git state, package versions and the device;
* `compute`: wall time, sessions or attempts, peak memory, the time of a training step, threads and workers.

`identity` reads a record back as (stage, model, training set, setting, seed); docs/experiments.md#results-layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import DatasetError
from .io import read_json_input
from .provenance import device_info, git_state, versions

FORMAT = "ctcbench.run/1"
KEYS = ("format", "stage", "run", "protocol", "spec", "spec_sha256", "inputs", "outputs", "training", "environment",
        "compute")  # fmt: skip
MODEL_KEY = {"classify": "backbone", "detect": "detector"}  # the identity field that names the trained model


def run_record(
    *,
    stage: str,
    identity: dict[str, Any],
    protocol: str,
    spec: dict[str, Any],
    spec_sha256: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    training: dict[str, Any],
    device: str,
    compute: dict[str, Any],
) -> dict[str, Any]:
    """A run.json; `identity` holds the run's name and its identity fields."""
    missing = {"name", MODEL_KEY[stage], "setting", "trainset", "seed"} - set(identity)
    if missing:
        raise ValueError(f"run record of a {stage} run without {sorted(missing)}")
    return {
        "format": FORMAT,
        "stage": stage,
        "run": identity,
        "protocol": protocol,
        "spec": spec,
        "spec_sha256": spec_sha256,
        "inputs": inputs,
        "outputs": outputs,
        "training": training,
        "environment": {"git": git_state(), "packages": versions(), "device": device_info(device)},
        "compute": compute,
    }


def step_seconds(durations: list[float]) -> dict[str, float | int] | None:
    """compute.step_seconds: how long a training step took (loading its batch, forward, backward, update), over the
    steps the record saw; the median is the figure to quote (the first steps pay for warming up)."""
    if not durations:
        return None
    ordered = sorted(durations)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {
        "count": len(ordered),
        "median": round(median, 4),
        "mean": round(sum(ordered) / len(ordered), 4),
        "max": round(ordered[-1], 4),
    }


def read_run_record(path: Path | str) -> dict[str, Any]:
    """A run.json, refused with one line when it is not of this schema (a run trained by an older version)."""
    record = read_json_input(path, "run record", "train the run first")
    if record.get("format") != FORMAT:
        raise DatasetError(f"{path}: run record format {record.get('format')!r}, expected {FORMAT}; train it again")
    return record


def identity(record: dict[str, Any]) -> tuple[str, str, str, str, int]:
    """(stage, model, training set, setting, seed) of a run record."""
    stage, run = record["stage"], record["run"]
    return stage, run[MODEL_KEY[stage]], run["trainset"], run["setting"], int(run["seed"])
