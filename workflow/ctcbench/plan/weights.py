"""The detectors' pretrained weight files the planned runs need, and how the workflow stages each (torch-free).

A staged file is keyed by its entry of `detect.weights`; rule detect_weights copies or downloads it and checks it.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..detect.spec import run_spec
from .grid import plan


def weights_inputs(config: dict[str, Any], detector: str) -> list[str]:
    """The staged pretrained file a detector starts from ([] with detect.pretrained: false)."""
    key = run_spec(config, detector, config["settings"][0], "all", config["seeds"][0]).weights_key
    return [config["detect"]["weights"][key]["file"]] if key else []


def needed_weights(config: dict[str, Any]) -> dict[str, str]:
    """Staged file -> key of detect.weights, for every file some planned detector run needs."""
    files = {}
    for detector in sorted({run.detector for run in plan(config).detectors}):
        for path in weights_inputs(config, detector):
            files[path] = next(k for k, v in config["detect"]["weights"].items() if v["file"] == path)
    return files


def weights_options(config: dict[str, Any], path: str) -> str:
    """`ctcbench detect-weights` options (key, source, url, sha256) that stage the configured file `path`."""
    key = needed_weights(config)[path]
    entry = config["detect"]["weights"][key]
    options = [f"--key {key}"]
    for name in ("source", "url", "sha256"):
        if entry.get(name):
            options.append(f"--{name} {shlex.quote(str(entry[name]))}")
    return " ".join(options)
