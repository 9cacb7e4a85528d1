"""The projection end to end: the plan's work, each distinct network's FLOPs, GPU-hours, compute.csv and .md."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from ..protocol import of_config
from .counts import DatasetCounts, read_counts
from .networks import ClassifierNetwork, StepFlops
from .paper import paper_train_hours
from .projection import Assumptions, analytic_pflops, count_all, rows
from .report import Context, write_report
from .workload import workload

log = logging.getLogger(__name__)


def network_flops(network: Any) -> StepFlops:
    """Count one network: classifiers on the meta device, detectors (mmdet) for real on CPU."""
    started = time.monotonic()
    if isinstance(network, ClassifierNetwork):
        from .classifiers import classifier_flops

        flops = classifier_flops(network)
    else:
        from .detectors import detector_flops

        flops = detector_flops(network)
    seconds = time.monotonic() - started
    log.info("%s: %.4g TFLOPs per training step (counted in %.1f s)", network.name, flops.train / 1e12, seconds)
    return flops


def counts_note(counts: DatasetCounts) -> str:
    estimated = "; each patient's training images estimated from the paper's train+val images per patient"
    return f"{counts.source}{estimated if counts.patients_estimated else ''}"


def project(
    config: dict[str, Any], counts_path: Path | str, table3: Path | str, csv_path: Path | str, md_path: Path | str
) -> list[dict[str, Any]]:
    """Write compute.csv and compute.md of `config`; returns the rows."""
    counts = read_counts(counts_path)
    works = workload(config, counts)
    flops = count_all(works, network_flops)
    assumptions = Assumptions.of_config(config)
    table = rows(works, flops, assumptions, paper_train_hours(config, table3))
    title = f"{config['preset']} preset, {of_config(config).name} protocol"
    context = Context(title, config["compute"]["gpu"], counts_note(counts), analytic_pflops(works, flops))
    write_report(csv_path, md_path, table, assumptions, context)
    return table
