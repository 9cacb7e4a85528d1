"""Run specs from the resolved config: what each run-level command takes as its one JSON spec (torch-free)."""

from __future__ import annotations

from typing import Any

from ..classify.schedule import resolve_schedule
from ..classify.spec import ClassifierSpec
from ..detect.spec import RunSpec, run_spec
from ..errors import ConfigError
from ..protocol import of_config
from .runs import ClassifierRun, DetectorRun
from .trainsets import trainset


def classifier_spec(config: dict[str, Any], run: ClassifierRun) -> ClassifierSpec:
    """The spec of one classifier run: its backbone's catalogue entry and schedule, its training set's classes and
    head under the protocol."""
    classify = config["classify"]
    entry = classify["backbones"].get(run.backbone)
    if entry is None:
        known = ", ".join(classify["backbones"])
        raise ConfigError(f"backbone {run.backbone!r}: expected a key of classify.backbones ({known})")
    protocol = of_config(config)
    training_set = trainset(run.trainset)
    return ClassifierSpec(
        backbone=run.backbone,
        timm_name=entry["timm"],
        setting=run.setting,
        trainset=run.trainset,
        seed=int(run.seed),
        protocol=protocol.name,
        classes=training_set.classes,
        head_outputs=training_set.head_outputs(protocol),
        schedule=resolve_schedule(classify, run.backbone, protocol),
        image_size=classify["image_size"],
        drop_path=entry.get("drop_path", 0.0),
        pretrained=classify["pretrained"],
        val_halves_seed=classify["threshold_split_seed"] if protocol.classifier_checkpoint == "cross_fitted" else None,
        torchvision_name=entry.get("torchvision"),
        augment_on=classify["augment_on"],
    )


def detector_spec(config: dict[str, Any], run: DetectorRun) -> RunSpec:
    """The spec of one detector run; its training set must be one detectors train on."""
    if not trainset(run.trainset).trains_detectors:
        raise ConfigError(f"detector run {run.name}: no detector trains on {run.trainset}; use all or patient-rXX")
    return run_spec(config, run.detector, run.setting, run.trainset, run.seed)
