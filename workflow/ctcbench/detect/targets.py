"""Paths and input lists of the detection stage for workflow/rules/detect.smk (no torch, no mmdet).

Kept in the package rather than in the rule file so that the rules stay declarative and these functions can be
tested without Snakemake.
"""

from __future__ import annotations

import shlex
from typing import Any

from .spec import grid, run_spec, train_list_name

RUN_FILES: tuple[str, ...] = ("predictions.json", "metrics.json", "run.json")


def run_dir(results: str, detector: str, setting: str, trainset: str, seed: int | str) -> str:
    return f"{results}/detect/{detector}/{setting}/{trainset}/seed{seed}"


def detect_targets(config: dict[str, Any], results: str) -> list[str]:
    """predictions.json, metrics.json and run.json of every detector run of the configured grid."""
    return [f"{run_dir(results, *run)}/{name}" for run in grid(config) for name in RUN_FILES]


def train_list(results: str, trainset: str) -> str:
    """The image list a training set trains on: splits/images/train.txt or train-rXX.txt."""
    return f"{results}/splits/images/{train_list_name(trainset)}.txt"


def weights_inputs(config: dict[str, Any], detector: str) -> list[str]:
    """The staged pretrained file a detector starts from ([] with detect.pretrained: false)."""
    key = run_spec(config, detector, config["settings"][0], "all", config["seeds"][0]).weights_key
    return [config["detect"]["weights"][key]["file"]] if key else []


def needed_weights(config: dict[str, Any]) -> dict[str, str]:
    """Staged file -> key of detect.weights, for every file some configured run needs."""
    files = {}
    for detector in {run[0] for run in grid(config)}:
        for path in weights_inputs(config, detector):
            files[path] = next(k for k, v in config["detect"]["weights"].items() if v["file"] == path)
    return files


def spec_json(config: dict[str, Any], detector: str, setting: str, trainset: str, seed: int | str) -> str:
    return run_spec(config, detector, setting, trainset, seed).to_json()


def weights_options(config: dict[str, Any], path: str) -> str:
    """`ctcbench detect-weights` options (key, source, url, sha256) that stage the configured file `path`."""
    key = needed_weights(config)[path]
    entry = config["detect"]["weights"][key]
    options = [f"--key {key}"]
    for name in ("source", "url", "sha256"):
        if entry.get(name):
            options.append(f"--{name} {shlex.quote(str(entry[name]))}")
    return " ".join(options)
