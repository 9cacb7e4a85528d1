"""The pretrained weight files the planned runs need, and how the workflow stages each (torch-free).

Detectors: a staged file is keyed by its entry of `detect.weights`; rule detect_weights copies or downloads it and
checks it. Classifiers: a backbone's file is that of the network its runs build under the protocol
(`classify.network`: timm's `<timm name>.safetensors` or torchvision's `<builder>.pth`); rule stage_weights writes
it (`ctcbench stage-weights`).
"""

from __future__ import annotations

import shlex
from typing import Any

from ..classify.network import Network, choose_network, weights_file
from ..detect.spec import run_spec
from ..protocol import of_config
from .defects import variant_config, variant_trainings
from .grid import plan
from .kfold import kfold_weights


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


def backbone_network(config: dict[str, Any], backbone: str) -> Network:
    """The network a backbone's classifier runs build under the config's protocol."""
    entry = config["classify"]["backbones"][backbone]
    return choose_network(of_config(config), entry["timm"], entry.get("torchvision"))


def classifier_weights_inputs(config: dict[str, Any], backbone: str) -> list[str]:
    """The staged file a backbone's classifier runs start from ([] with classify.pretrained: false)."""
    if not config["classify"]["pretrained"]:
        return []
    return [str(weights_file(config["classify"]["weights_dir"], backbone_network(config, backbone)))]


def needed_classifier_weights(config: dict[str, Any]) -> dict[str, Network]:
    """Staged file -> its network, for every file some planned classifier run (or k-fold run, or a defect variant's
    classifier run, whose protocol may build another network) needs."""
    # Each backbone once per protocol: the grid's under the config's, the variants' under their own.
    grid_plan = plan(config)
    runs = {(None, run.backbone) for run in grid_plan.classifiers}
    runs |= {(variant, run.backbone) for variant, run in variant_trainings(grid_plan.protocol, grid_plan.defects)[0]}
    grid = {
        path: backbone_network(run_config, backbone)
        for variant, backbone in sorted(runs, key=lambda item: (item[0] is not None, str(item[0]), item[1]))
        for run_config in [config if variant is None else variant_config(config, variant)]
        for path in classifier_weights_inputs(run_config, backbone)
    }
    return {**grid, **kfold_weights(config)}
